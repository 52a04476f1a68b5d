"""``python -m lenslab.comm [--write [PATH]]``: print (or write) the protocol's JSON Schema.

The default PATH is the fixture the TypeScript tests read, labext/test/fixtures/protocol.schema.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lenslab.comm.protocol import json_schema

FIXTURE = Path(__file__).resolve().parents[3] / "labext" / "test" / "fixtures" / "protocol.schema.json"


def main(argv: list[str]) -> int:
    text = json.dumps(json_schema(), indent=2) + "\n"
    if argv[1:2] == ["--write"]:
        target = Path(argv[2]) if len(argv) > 2 else FIXTURE
        target.write_text(text)
        sys.stdout.write(f"wrote {target}\n")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
