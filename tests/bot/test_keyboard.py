"""The triage keyboard (pure): callback data round trips, stays within Telegram's 64 bytes, and
anything that is not exactly ours is refused; the buttons show the tally discreetly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.alert.keyboard import (
    MAX_DATA_BYTES,
    Press,
    encode_data,
    parse_data,
    triage_keyboard,
)


@given(st.integers(min_value=1, max_value=2**63 - 1),
       st.sampled_from(["relevant", "not_relevant", "mute"]))
def test_data_round_trips_within_64_bytes(outbox_id: int, action: str) -> None:
    data = encode_data(outbox_id, action)  # type: ignore[arg-type]
    assert len(data.encode()) <= MAX_DATA_BYTES
    assert parse_data(data) == Press(outbox_id, action)  # type: ignore[arg-type]


@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.integers(), st.none()))
def test_anything_else_is_refused_or_exactly_ours(data: object) -> None:
    press = parse_data(data)
    assert press is None or encode_data(press.outbox_id, press.action) == data


@pytest.mark.parametrize("data", ["t:0:r", "t:007:r", "t:1:R", "T:1:r", "t:1:", "t::r", "t:1:rn",
                                  "t:1:r\n", "\u200et:1:r", "t:١:r", "t:1:r" + "\x00",
                                  f"t:{2**63}:r", "digest:1", "t:1:m;t:2:m"])
def test_hostile_data_is_refused(data: str) -> None:
    assert parse_data(data) is None


def test_encode_refuses_what_is_not_a_row() -> None:
    with pytest.raises(ValueError):
        encode_data(0, "relevant")


def test_the_buttons_show_the_tally_discreetly() -> None:
    [fresh] = triage_keyboard(5)
    assert [b.text for b in fresh] == ["✅ relevant", "❌ not relevant", "🔕 mute story"]
    assert [b.data for b in fresh] == ["t:5:r", "t:5:n", "t:5:m"]
    [judged] = triage_keyboard(5, relevant=2, not_relevant=1, muted=True)
    assert [b.text for b in judged] == ["✅ 2", "❌ 1", "🔕 muted"]
    assert [b.data for b in judged] == ["t:5:r", "t:5:n", "t:5:m"]
