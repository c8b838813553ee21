# One definition of the browser fixtures for every test here: Playwright's sync API runs one
# driver per thread, so a second session-scoped launch (a copy of the fixture in another
# module) would fail with "using Playwright Sync API inside the asyncio loop".
from tests.web.browser import chromium, page  # noqa: F401
