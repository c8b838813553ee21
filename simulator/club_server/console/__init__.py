"""The club's read-only web console: the operator's lists with filters, a transaction's story,
the daily report with sales per hour, refreshing while a test runs (docs/club_server.md
"The web console").

aiohttp serves it (app.py); every page reads through simulator.club_server.queries on its
own read-only SQLite connection, in a thread of its own, so the club's request loop never
waits for it. pages.py renders with Jinja2 (autoescaped) and chart.py draws the hourly chart
as inline SVG: no script or style comes from anywhere but this server.
"""
