"""The benchmark's scenes: one rhythm per scene, then mixtures, occlusion and a cut.

Characters have body colours no background pixel can have (a channel above 240 or
below 45), so the tracker finds them by colour. Speeds are in pixels per source
frame at 144 rows and scale with the height.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from stsr.eval.synthetic import Background, Character, Scene

SOURCE_RATE = Fraction(24000, 1001)

MAGENTA = (245, 40, 190)
AMBER = (250, 200, 30)


def _first(scale: float, holds: tuple[int, ...], phase: int = 0, y: float = 80.0,
           speed: float = 2.2) -> Character:
    return Character(start=(36 * scale, y * scale), velocity=(speed * scale, 0.15 * scale),
                     radius=(28.0, 40.0), body=MAGENTA, patch=(120, 230, 250), holds=holds, phase=phase)


def _second(scale: float, holds: tuple[int, ...], phase: int = 0, y: float = 52.0,
            speed: float = -1.8, start_x: float = 230.0) -> Character:
    return Character(start=(start_x * scale, y * scale), velocity=(speed * scale, 0.1 * scale),
                     radius=(22.0, 30.0), body=AMBER, patch=(255, 255, 255), holds=holds, phase=phase)


def _scene(width: int, height: int, frames: int, characters: list[Character],
           pan: float = 0.0, cut_at: int | None = None) -> Scene:
    scale = height / 144
    return Scene(width=width, height=height, frames=frames, rate=SOURCE_RATE,
                 background=Background(velocity=(pan * scale, 0.0), holds=(1,)),
                 characters=characters, cut_at=cut_at)


SceneFactory = Callable[[int, int, int], Scene]


def _single(holds: tuple[int, ...], phase: int = 0) -> SceneFactory:
    def make(width: int, height: int, frames: int) -> Scene:
        return _scene(width, height, frames, [_first(height / 144, holds, phase)])
    return make


def _two_twos(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    return _scene(width, height, frames, [_first(scale, (2,), 0), _second(scale, (2,), 1)])


def _twos_over_pan(width: int, height: int, frames: int) -> Scene:
    return _scene(width, height, frames, [_first(height / 144, (2,), 0)], pan=-1.2)


def _twos_beside_threes(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    # Both move right, far enough apart never to overlap: the rhythms alone are measured.
    return _scene(width, height, frames, [_first(scale, (2,), 0, y=88.0),
                                          _second(scale, (3,), 1, y=34.0, speed=2.0, start_x=100.0)])


def _crossing(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    # Same height band: the amber character passes in front of the magenta one mid-clip.
    return _scene(width, height, frames, [_first(scale, (2,), 0, y=78.0), _second(scale, (2,), 1, y=70.0)])


def _cut(width: int, height: int, frames: int) -> Scene:
    return _scene(width, height, frames, [_first(height / 144, (2,), 0)], cut_at=frames // 2)


#: name -> (description, factory(width, height, frames))
SCENES: dict[str, tuple[str, SceneFactory]] = {
    "ones": ("one character on ones", _single((1,))),
    "twos": ("one character on twos", _single((2,))),
    "twos_oop": ("one character on twos, drawings on odd frames", _single((2,), 1)),
    "threes": ("one character on threes", _single((3,))),
    "two_three": ("one character on a 2-3-2-3 pattern", _single((2, 3))),
    "fours": ("one character on fours", _single((4,))),
    "two_twos": ("two characters on twos, out of phase", _two_twos),
    "twos_over_pan": ("a character on twos over a background panning on ones", _twos_over_pan),
    "twos_threes": ("a character on twos beside one on threes", _twos_beside_threes),
    "crossing": ("two characters on twos crossing (occlusion)", _crossing),
    "cut": ("a character on twos with a scene cut halfway", _cut),
}


def make_scene(name: str, width: int = 256, height: int = 144, frames: int = 72) -> Scene:
    return SCENES[name][1](width, height, frames)
