import threading

from apps.common.enqueue import Coalescer

calls: list[list[int]] = []
done = threading.Event()


class Task:
    name = "test.task"

    def __call__(self, ids):
        calls.append(ids)
        done.set()


def test_the_background_coalescer_runs_each_id_once_per_batch():
    coalescer = Coalescer(Task(), interval=0.05)
    coalescer.add([3, 1])
    coalescer.add([1, 2])
    assert done.wait(5)
    done.clear()
    coalescer.add([2])
    assert done.wait(5)
    seen = sorted(i for batch in calls for i in batch)
    assert set(seen) == {1, 2, 3}
    assert all(batch == sorted(set(batch)) for batch in calls)
