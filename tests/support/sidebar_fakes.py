"""Helpers for the sidebar comm tests: a fake panel (the comm) and message builders."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Optional

from lenslab.comm import protocol as p

IOI = {
    "clean_prompt": "When Mary and John went to the store, John gave a drink to",
    "corrupted_prompt": "When Mary and John went to the store, Mary gave a drink to",
    "correct_answer": " Mary",
    "incorrect_answer": " John",
}


class FakePanel:
    """Stands in for the comm: every message the kernel sends must be valid JSON and valid protocol."""

    def __init__(self, validator: Any) -> None:
        self.messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._validator = validator
        self.closed = False

    def send(self, data: dict[str, Any]) -> None:
        if self.closed:
            raise RuntimeError("comm closed")
        wire = json.loads(json.dumps(data, allow_nan=False))  # what the browser would parse
        p.parse_kernel_message(wire)
        self._validator.validate(wire)
        with self._cond:
            self.messages.append(wire)
            self._cond.notify_all()

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m["type"] == type_]

    def wait_for(self, type_: str, where: Optional[Callable[[dict[str, Any]], bool]] = None, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if m["type"] == type_ and (where is None or where(m)):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {type_!r} message within {timeout} s; got {[m['type'] for m in self.messages]}")
                self._cond.wait(left)

    def last(self) -> dict[str, Any]:
        with self._cond:
            return self.messages[-1]


def request(type_: str, id_: str = "r1", **fields: Any) -> dict[str, Any]:
    return {"v": p.PROTOCOL_VERSION, "type": type_, "id": id_, **fields}


def job(**overrides: Any) -> dict[str, Any]:
    return {"model": "model", "kind": "heads_all_pos", "metric": "logit_diff", **IOI, **overrides}
