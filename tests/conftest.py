"""Fixtures every test module may use, registered here once and only here.

The fixtures live in ``tests/plugins`` (one module per area); plain helper functions, classes
and constants live in ``tests/helpers`` and are imported where needed. A test module asks for
a fixture by name and never imports one.

- ``tests.plugins.project``: ``make_project`` (a throw-away project with a real config file)
  and ``sample_project`` (a copy of the shipped sample site);
- ``tests.plugins.smtp_server``: ``smtp_password`` and ``smtp_server`` (aiosmtpd with STARTTLS
  and AUTH, see :mod:`tests.helpers.smtp_server`);
- ``tests.plugins.cli``: ``cli``, the one way to run ``digestmail`` (in process or as a
  subprocess), always without the caller's ``DIGESTMAIL_*`` variables;
- ``tests.plugins.web``: ``serve``, the sample project served by ``digestmail serve``'s app on
  a real uvicorn (see :mod:`tests.helpers.web`).
"""

pytest_plugins = [
    "tests.plugins.project",
    "tests.plugins.smtp_server",
    "tests.plugins.cli",
    "tests.plugins.web",
]
