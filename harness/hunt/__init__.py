"""``parity hunt``: search for new converter bugs on purpose, group them by root cause and
draft known-issue entries for a person to review (docs/hunt.md).

- ``search``: fresh Hypothesis draws of every kind down every path, biased to what finds bugs,
  run by isolated worker processes under a wall-clock budget;
- ``triage``: a failing leg no known issue recognises, its root-cause group and the spec-level
  shrink of the group's first case;
- ``drafts``: per group, a draft entry in ``known_issues.d``'s format with a standalone script
  checked in a fresh process (never written into ``known_issues.d``);
- ``report``: the groups as an HTML page and as JSON for CI;
- ``state``: what a hunt keeps on disk so that the next run goes on.
"""
