from django.dispatch import Signal

# Sent once per stored batch, after its transaction commits, with the newly inserted
# rows only: observations_stored.send(sender=PriceObservation, observations=[...]).
observations_stored = Signal()

# Sent by refresh_pairs after each recomputation, with the new states by pair id:
# pairs_refreshed.send(sender=Pair, states={pair_id: state}). Receivers must be quick (enqueue
# heavy work); one failing is logged and does not stop the others.
pairs_refreshed = Signal()
