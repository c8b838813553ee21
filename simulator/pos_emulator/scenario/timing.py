"""The timing report of a scenario: per step, the terminals' time and the club server's time
spent on the messages that arrived during it."""


def timing_rows(world):
    """Per step: [label, runs, terminal ms mean, terminal ms max, server ms, messages].
    Server time: the club's handling of the messages that arrived during the step's runs
    (None: not measured, an outside club)."""
    sc = world.scenario
    steps = [*sc.steps, *sc.after]
    windows = {}
    for c in world.copies:
        for key, start, end in c.windows:
            windows.setdefault(key, []).append((start, end))
    messages = sorted(world.timer.messages) if world.timer is not None else None
    rows = []
    for step in steps:
        spans = windows.get((step.part, step.index), [])
        if not spans:
            continue
        took = [(e - s) * 1000 for s, e in spans]
        label = f"{'after ' if step.part == 'after' else ''}{step.index} {step.name}"
        if messages is None:
            rows.append([label, len(spans), sum(took) / len(took), max(took), None, None])
            continue
        server = [d for t, d in messages if any(s <= t < e for s, e in spans)]
        rows.append(
            [label, len(spans), sum(took) / len(took), max(took), sum(server) * 1000, len(server)]
        )
    return rows


def format_timing(rows):
    lines = [
        f"    {'step':<34} {'runs':>4} {'terminal ms':>12} {'max':>8} {'server ms':>10} {'msgs':>5}"
    ]
    for label, runs, mean, top, server, count in rows:
        if server is None:  # an outside club: its time is not measured here
            lines.append(
                f"    {label[:34]:<34} {runs:>4} {mean:>12.1f} {top:>8.1f} {'-':>10} {'-':>5}"
            )
            continue
        lines.append(
            f"    {label[:34]:<34} {runs:>4} {mean:>12.1f} {top:>8.1f} "
            f"{server / runs:>10.1f} {count:>5}"
        )
    return lines
