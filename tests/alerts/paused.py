"""What the pages show of objects paused by the plan."""
from html.parser import HTMLParser

VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr"})  # no end tag


class _PausedReasons(HTMLParser):
    """The text of each element whose class includes `paused-reason` (a real element: not text
    that only looks like one, e.g. inside another tag's attribute)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth:
            self._depth += tag not in VOID
        elif "paused-reason" in (dict(attrs).get("class") or "").split():
            self._depth = 1
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.found[-1] += data


def paused_reasons(html: str) -> list[str]:
    parser = _PausedReasons()
    parser.feed(html)
    return [text.strip() for text in parser.found]
