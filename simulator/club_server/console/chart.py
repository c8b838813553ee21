"""Sales per hour of a Tehran day as inline SVG: one bar per hour, drawn on the server (no
chart library, no script). Pure: a list of hours in, markup out."""

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 70, 24, 12
BAR_GAP = 4


def hourly_svg(hours):
    """hours: [{"hour", "count", "amount"}] for 0..23 -> <svg id="hourly-chart">; each bar is
    a <rect class="bar" data-hour= data-amount=> with a <title> a person sees on hover."""
    top_amount = max((h["amount"] for h in hours), default=0)
    plot_w = WIDTH - LEFT - 10
    plot_h = HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(hours), 1)
    parts = [
        f'<svg id="hourly-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="confirmed purchases per hour, Tehran time">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 10}" y2="{TOP + plot_h}" '
        f'class="axis"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" class="label" text-anchor="end">'
        f"{top_amount:,}</text>",
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" class="label" text-anchor="end">0</text>',
    ]
    for i, h in enumerate(hours):
        height = round(plot_h * h["amount"] / top_amount, 1) if top_amount else 0
        x = round(LEFT + i * step + BAR_GAP / 2, 1)
        title = escape(f"{h['hour']:02d}:00 - {h['count']} purchases, {h['amount']:,} rials")
        parts.append(
            f'<rect class="bar" data-hour="{h["hour"]}" data-amount="{h["amount"]}" x="{x}" '
            f'y="{round(TOP + plot_h - height, 1)}" width="{round(step - BAR_GAP, 1)}" '
            f'height="{height}"><title>{title}</title></rect>'
        )
        if h["hour"] % 3 == 0:
            parts.append(
                f'<text x="{round(x + step / 2 - BAR_GAP / 2, 1)}" y="{HEIGHT - 6}" '
                f'class="label" text-anchor="middle">{h["hour"]:02d}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
