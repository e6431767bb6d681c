"""Scanner and software changes: where a new equipment combination first appears in a stream."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Which difference names an event when several fields change at once: software first, since a
# reconstruction or firmware update is the change that most often moves a model silently.
FIELDS = ("software_version", "model", "manufacturer", "station")


@dataclass(frozen=True, slots=True)
class Equipment:
    manufacturer: str = ""
    model: str = ""
    software_version: str = ""
    station: str = ""

    @property
    def known(self) -> bool:
        return any((self.manufacturer, self.model, self.software_version, self.station))


@dataclass(frozen=True, slots=True)
class EquipmentEvent:
    index: int  # position in the stream of the first study with the new combination
    kind: str  # the field that differs from the study before: one of FIELDS
    value: str
    previous: str
    equipment: Equipment


def equipment_events(stream: Sequence[Equipment]) -> list[EquipmentEvent]:
    """Each first appearance of a combination after the first one, in stream order.

    Studies without any equipment field are skipped; a combination seen before (two stations
    used in turn, say) is not an event again.
    """
    events: list[EquipmentEvent] = []
    seen: set[Equipment] = set()
    previous: Equipment | None = None
    for index, equipment in enumerate(stream):
        if not equipment.known:
            continue
        if equipment not in seen and previous is not None:
            kind = next((f for f in FIELDS if getattr(equipment, f) != getattr(previous, f)), FIELDS[0])
            events.append(
                EquipmentEvent(index, kind, getattr(equipment, kind), getattr(previous, kind), equipment)
            )
        seen.add(equipment)
        previous = equipment
    return events


def preceding_event(
    events: Sequence[EquipmentEvent], *, change_index: int, detected_index: int, lookback: int
) -> EquipmentEvent | None:
    """The change that explains a drop starting at `change_index`, if any.

    Candidates lie from `lookback` studies before the estimated change point up to the detection
    (the estimate can fall a few studies either side of the true start); the nearest to the
    change point wins, the earlier on a tie.
    """
    candidates = [e for e in events if change_index - lookback <= e.index <= detected_index]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (abs(e.index - change_index), e.index))
