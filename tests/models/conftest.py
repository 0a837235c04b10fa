"""The ``server`` fixture: a local HTTP server (see :mod:`tests.models.local_server`)."""

import pytest

from tests.models.local_server import serving


@pytest.fixture
def server():
    with serving() as srv:
        yield srv
