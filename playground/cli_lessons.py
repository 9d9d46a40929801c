"""`playground lessons`: list the lessons, or check their claims headless before class.

`playground lessons` lists them (`--json`: a list of {name, title, claim}); `playground lessons --check
[NAME…]` trains each over its seeds and prints the claim, the figures and whether it held; the exit
code is 0 only if every lesson checked held (1 if one did not, 2 for a bad name or a bad lesson file).
"""

from __future__ import annotations

import json
import sys

from . import bundled, lessons
from .inputs import prepare_engine


def _selected(names: list[str]) -> list[lessons.Lesson]:
    every = lessons.all_lessons()
    if not every:
        raise lessons.LessonError(f"no lessons in {bundled.lessons_dir()} (a broken install?)")
    if not names:
        return every
    by_name = {lesson.name: lesson for lesson in every}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise lessons.LessonError(f"no lesson called {unknown[0]!r}; the lessons are " + ", ".join(by_name))
    return [by_name[n] for n in names]


def cmd_lessons(args) -> int:
    try:
        selected = _selected(args.names if args.check else [])
        if args.names and not args.check:
            raise lessons.LessonError("name lessons only with --check (playground lessons --check NAME …)")
    except lessons.LessonError as error:
        print(f"playground: {error}", file=sys.stderr)
        return 2
    if not args.check:
        if args.json:
            print(json.dumps([{"name": l.name, "title": l.title, "claim": l.claim} for l in selected]))
            return 0
        print(f"Lessons in {bundled.lessons_dir()} (open one: playground gui NAME; check them: "
              "playground lessons --check):")
        for lesson in selected:
            print(f"  {lesson.name:<22} {lesson.title}")
        return 0
    prepare_engine()
    all_held = True
    for lesson in selected:
        result = lessons.check(lesson)
        all_held &= result.held
        print("\n".join(lessons.summary(result)), flush=True)
    return 0 if all_held else 1


def register_cli(sub) -> None:
    parser = sub.add_parser("lessons", help="list the lessons, or check their claims headless (--check)")
    parser.add_argument("names", nargs="*", metavar="NAME", help="with --check: only these lessons")
    parser.add_argument("--check", action="store_true",
                        help="train each lesson over its seeds and say whether its claim held (exit 0 if all did)")
    parser.add_argument("--json", action="store_true", help="list as JSON: [{name, title, claim}, …]")
    parser.set_defaults(func=cmd_lessons)
