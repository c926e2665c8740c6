"""The benchmark's scenes: one rhythm per scene, then mixtures, occlusion and a cut.

Characters have body colours no background pixel can have (a channel above 240 or
below 45), so the tracker finds them by colour. Speeds are in pixels per source
frame at 144 rows and scale with the height.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from stsr.eval.synthetic import Arm, Background, Blob, Caption, Character, Glow, Mouth, Scene, Swing, TurningHead

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


def _scene(width: int, height: int, frames: int, characters: list,
           pan: float = 0.0, cut_at: int | None = None, background: Background | None = None,
           **options: object) -> Scene:
    scale = height / 144
    return Scene(width=width, height=height, frames=frames, rate=SOURCE_RATE,
                 background=background or Background(velocity=(pan * scale, 0.0), holds=(1,)),
                 characters=characters, cut_at=cut_at, **options)  # type: ignore[arg-type]


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


# -- harder scenes (issue 13): looks that change, not only places ---------------------------------


def _mouth_threes(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    head = _first(scale, (3,), 0, speed=1.6)
    mouth = Mouth(holds=(3,), phase=1, anchor=0, offset=(2 * scale, 14 * scale), width=9 * scale,
                  height=9 * scale)
    return _scene(width, height, frames, [head, mouth])


def _tear_twos(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    head = _first(scale, (2,), 0, speed=0.0, y=78.0)
    head.velocity = (0.0, 0.0)
    head.start = (96 * scale, 78 * scale)
    tear = Blob(holds=(2,), phase=1, start=(150 * scale, 20 * scale), velocity=(0.2 * scale, 1.4 * scale),
                radius=6 * scale)
    return _scene(width, height, frames, [head, tear])


def _back_and_forth(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    swing = Swing(holds=(2,), start=(90 * scale, 70 * scale), amplitude=(50 * scale, 8 * scale),
                  radius=(20 * scale, 28 * scale))
    return _scene(width, height, frames, [swing])


def _arm_threes(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    body = _first(scale, (1,), 0, speed=0.0, y=84.0)
    body.velocity = (0.0, 0.0)
    body.start = (110 * scale, 84 * scale)
    arm = Arm(holds=(3,), anchor=0, offset=(22 * scale, -14 * scale), length=38 * scale, speed=0.05,
              thickness=max(2, round(6 * scale)))
    return _scene(width, height, frames, [body, arm])


def _shake_zoom(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    camera = Background(holds=(1,), shake=3.0 * scale, zoom=0.004)
    return _scene(width, height, frames, [_first(scale, (2,), 0), _second(scale, (2,), 1)], background=camera)


def _glow(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    glow = Glow(center=(170 * scale, 60 * scale), radius=55 * scale, strength=170.0)
    return _scene(width, height, frames, [_first(scale, (2,), 0), glow])


def _grain(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    return _scene(width, height, frames, [_first(scale, (2,), 0), _second(scale, (3,), 1)], pan=-0.8,
                  grain=6.0, crf=36)


def _dissolve(width: int, height: int, frames: int) -> Scene:
    return _scene(width, height, frames, [_first(height / 144, (2,), 0)], dissolve=(frames // 2 - 6, 12))


def _caption_ones(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    held = _first(scale, (2,), 0, speed=0.0)
    held.velocity = (0.0, 0.0)
    held.start = (80 * scale, 70 * scale)
    caption = Caption(text="EPISODE 13", start=(10 * scale, 128 * scale), velocity=(1.6 * scale, 0.0),
                      scale=0.7 * scale)
    return _scene(width, height, frames, [held, _second(scale, (4,), 0, speed=-1.0), caption])


def _fast_turn(width: int, height: int, frames: int) -> Scene:
    scale = height / 144
    head = TurningHead(holds=(2,), start=(100 * scale, 76 * scale), velocity=(1.2 * scale, 0.0),
                       radius=(58 * scale, 64 * scale), turn_at=frames / 2, turn_frames=4.0)
    return _scene(width, height, frames, [head], pan=-3.0)


#: the scenes modelled on what failed on real footage (issue 13)
HARD_SCENES = ["mouth_threes", "tear_twos", "back_and_forth", "arm_threes", "shake_zoom", "glow", "grain",
               "dissolve", "caption_ones", "fast_turn"]

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
    "mouth_threes": ("a head on threes, its mouth alternating open/closed on threes out of step", _mouth_threes),
    "tear_twos": ("a falling tear redrawn on twos with a new outline beside a still head", _tear_twos),
    "back_and_forth": ("a back-and-forth cycle on twos (motion reverses every drawing)", _back_and_forth),
    "arm_threes": ("partial animation: body held, an arm on threes", _arm_threes),
    "shake_zoom": ("camera shake and zoom on ones under two characters on twos", _shake_zoom),
    "glow": ("a glow changing brightness every frame beside a character on twos", _glow),
    "grain": ("film grain and strong compression (CRF 36) over twos, threes and a pan", _grain),
    "dissolve": ("a cross-dissolve to a second shot over 12 frames, a character on twos", _dissolve),
    "caption_ones": ("burned-in text scrolling on ones over held animation (a held cel, fours)", _caption_ones),
    "fast_turn": ("a fast drawn head turn on twos over a fast pan (not a cut)", _fast_turn),
}


def make_scene(name: str, width: int = 256, height: int = 144, frames: int = 72) -> Scene:
    return SCENES[name][1](width, height, frames)
