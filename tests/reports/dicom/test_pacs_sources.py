"""PACS_SOURCES: a DIMSE source picks C-MOVE or C-GET; a bad entry is named before any network call."""
from __future__ import annotations

import pytest

from reports.pacs.dicomweb import PacsError
from reports.pacs.dimse import DimsePeer
from reports.services.pacs import UnknownSource, pacs_find


@pytest.fixture
def sources(settings):
    settings.PACS_SOURCES = {
        "move": {"host": "127.0.0.1", "port": 9, "ae_title": "PACS"},
        "odd": {"host": "127.0.0.1", "port": 9, "ae_title": "PACS", "retrieve": "c-store"},
        "half": {"port": 104, "ae_title": "PACS"},
    }


def test_c_move_is_the_default_and_c_get_is_chosen_by_name():
    assert DimsePeer(host="h", port=104, ae_title="PACS").retrieve == "c-move"
    assert DimsePeer(host="h", port=104, ae_title="PACS", retrieve="c-get").retrieve == "c-get"


def test_an_unknown_retrieve_method_is_refused_with_the_choices(sources):
    with pytest.raises(PacsError, match="Unknown DIMSE retrieve method 'c-store'; use one of c-move, c-get"):
        pacs_find(source_name="odd", AccessionNumber="A1")


def test_a_source_without_a_host_says_so(sources):
    with pytest.raises(PacsError, match="The DIMSE source has no 'host'"):
        pacs_find(source_name="half", AccessionNumber="A1")


def test_an_unknown_source_lists_the_configured_ones(sources):
    with pytest.raises(UnknownSource, match="configured: half, move, odd"):
        pacs_find(source_name="nope")
