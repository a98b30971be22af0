"""``manage.py run_events_subscriber`` for the benchmark, run from the repository root.

The benchmark runs the real command with the arguments it is given; this wrapper only makes
the repository importable when started as ``python bench/subscriber.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("run_events_subscriber", *sys.argv[1:])


if __name__ == "__main__":
    main()
