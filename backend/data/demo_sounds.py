"""A procedural sound synthesiser: field recordings typical of each demo land-cover class.

Sound generators take a Generator and a length in samples and return float32
audio at :data:`DEMO_SAMPLE_RATE`, roughly unit RMS. Cheap vectorised building
blocks: interpolated noise (low-pass), noise times a carrier (band-pass),
wavetable oscillators following frequency tracks (tones, harmonics, formants).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

#: sample rate of the demo recordings (the audio reader resamples)
DEMO_SAMPLE_RATE = 16000
_SR = DEMO_SAMPLE_RATE
_TABLE = 2048
# envelopes are computed at _SR / _CONTROL_STEP points per second, then interpolated
_CONTROL_STEP = 320


@functools.lru_cache(maxsize=64)
def _ramp(steps: int) -> np.ndarray:
    """Linear interpolation weights 0, 1/steps, ..., (steps - 1)/steps."""
    ramp = np.arange(steps, dtype=np.float32) / np.float32(steps)
    ramp.setflags(write=False)
    return ramp


def _upsample(points: np.ndarray, factor: int, n: int) -> np.ndarray:
    """Linear interpolation of ``points`` by an integer ``factor``, cut to ``n`` samples."""
    if factor == 1:
        return points[:n]
    base, step = points[:-1], points[1:] - points[:-1]
    fine = np.empty((len(base), factor), points.dtype)
    ramp = _ramp(factor)
    if factor <= 16:  # a few long strided passes beat broadcasting over short rows
        for j in range(factor):
            np.multiply(step, ramp[j], out=fine[:, j])
            fine[:, j] += base
    else:
        np.multiply(step[:, None], ramp[None, :], out=fine)
        fine += base[:, None]
    return fine.reshape(-1)[:n]


def _white(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance white noise (uniform: four times cheaper than Gaussian)."""
    return (rng.random(n, dtype=np.float32) - np.float32(0.5)) * np.float32(3.4641)


def _lowpass_noise(rng: np.random.Generator, n: int, cutoff_hz: float) -> np.ndarray:
    """Noise with most energy below ``cutoff_hz`` (about unit RMS)."""
    factor = max(1, int(round(_SR / (2 * cutoff_hz))))
    if factor == 1:
        return _white(rng, n)
    points = _white(rng, n // factor + 2) * np.float32(1.22)
    return _upsample(points, factor, n)


def _band_noise(rng: np.random.Generator, n: int, centre_hz: float, width_hz: float) -> np.ndarray:
    carrier = np.cos(np.arange(n, dtype=np.float32) * np.float32(2 * np.pi * centre_hz / _SR))
    return _lowpass_noise(rng, n, width_hz / 2) * carrier * np.float32(1.41)


def _slow(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """A slowly wandering control signal (about unit variance) changing at ``rate_hz``."""
    factor = max(1, int(round(_SR / rate_hz)))
    return _upsample(_white(rng, n // factor + 2), factor, n)


@functools.lru_cache(maxsize=256)
def _wavetable(amplitudes: tuple[float, ...]) -> np.ndarray:
    phase = np.arange(_TABLE) * (2 * np.pi / _TABLE)
    table = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(amplitudes))
    table = np.asarray(table, dtype=np.float32)
    table /= max(float(np.sqrt(np.mean(table**2))), 1e-6)
    table.setflags(write=False)
    return table


def _oscillator(amplitudes: tuple[float, ...], frequency: np.ndarray | float, n: int) -> np.ndarray:
    """A periodic tone with the given harmonic amplitudes following ``frequency`` (Hz)."""
    if np.isscalar(frequency):
        # fixed-point phase: exact and cheap for any length
        step = int(round(float(frequency) * _TABLE * 65536 / _SR))
        index = (np.arange(n, dtype=np.int64) * step >> 16) & (_TABLE - 1)
    else:
        cycles = np.cumsum(np.asarray(frequency, dtype=np.float64) * (1 / _SR))
        index = (cycles * _TABLE).astype(np.int64) & (_TABLE - 1)
    return _wavetable(amplitudes)[index]


@functools.lru_cache(maxsize=1024)
def _formants(
    f0: float, formants: tuple[tuple[float, float], ...], count: int
) -> tuple[float, ...]:
    """Harmonic amplitudes of a voice-like source at ``f0`` through the given formants."""
    amplitudes = []
    for k in range(1, count + 1):
        f = k * f0
        gain = sum(np.exp(-(((f - centre) / width) ** 2)) for centre, width in formants)
        amplitudes.append(round(float(0.05 + gain) / k**0.5, 2))
    return tuple(amplitudes)


def _hann(n: int) -> np.ndarray:
    return np.sin(np.linspace(0, np.pi, n, dtype=np.float32)) ** 2


def _add(signal: np.ndarray, event: np.ndarray, start: int) -> None:
    """Add ``event`` into ``signal`` starting at sample ``start`` (clipped at both ends)."""
    skip = max(0, -start)
    start = max(0, start)
    end = min(len(signal), start + len(event) - skip)
    if start < end:
        signal[start:end] += event[skip : skip + end - start]


def _event_times(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Start samples of a Poisson process with ``rate_hz`` events per second."""
    count = rng.poisson(rate_hz * n / _SR)
    return np.sort(rng.integers(0, n, count))


def _control_times(n: int) -> np.ndarray:
    return np.arange(n // _CONTROL_STEP + 2, dtype=np.float32) * np.float32(_CONTROL_STEP / _SR)


def _swells(
    rng: np.random.Generator, n: int, period_s: float, rise_s: float, fall_s: float
) -> np.ndarray:
    """An envelope of repeated swells (waves): quick rise, slow decay."""
    t = _control_times(n)
    envelope = np.zeros_like(t)
    start = -rng.uniform(0, period_s)
    while start < t[-1]:
        rise = np.clip((t - start) / rise_s, 0, 1) ** 2
        fall = np.exp(-np.clip(t - start - rise_s, 0, None) / fall_s)
        envelope += np.float32(rng.uniform(0.5, 1.2)) * rise * fall
        start += period_s * rng.uniform(0.7, 1.3)
    return _upsample(envelope, _CONTROL_STEP, n)


def _birds(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Song phrases of one to three synthetic bird species (frequency-modulated chirps)."""
    signal = np.zeros(n, np.float32)
    for _ in range(rng.integers(1, 4)):
        f0, sweep = rng.uniform(2000, 6000), rng.uniform(-2500, 2500)
        chirp_s, gap_s = rng.uniform(0.04, 0.25), rng.uniform(0.04, 0.2)
        notes = rng.integers(2, 9)
        trill_hz, trill_depth = rng.uniform(15, 40), rng.choice([0.0, rng.uniform(150, 600)])
        length = int(chirp_s * _SR)
        t = np.arange(length, dtype=np.float32) / _SR
        frequency = f0 + sweep * t / chirp_s + trill_depth * np.sin(2 * np.pi * trill_hz * t)
        note = _oscillator((1.0, 0.15), np.clip(frequency, 500, 7800), length) * _hann(length)
        for start in _event_times(rng, n, rate_hz / 2):
            level = np.float32(rng.uniform(0.3, 1.0))
            for i in range(notes):
                _add(signal, note * level, int(start + i * (chirp_s + gap_s) * _SR))
    return signal


def _waves(rng: np.random.Generator, n: int, surf: bool) -> np.ndarray:
    if surf:  # breaking surf: long period, broadband crash and hiss
        envelope = _swells(rng, n, rng.uniform(6, 12), rng.uniform(0.5, 1.2), rng.uniform(1.5, 4))
        body = _lowpass_noise(rng, n, rng.uniform(3000, 7000)) * np.float32(0.7)
        body += _lowpass_noise(rng, n, rng.uniform(200, 500))
        return body * (np.float32(0.25) + envelope)
    # lapping water: short period, dull, with small splashes
    envelope = _swells(rng, n, rng.uniform(1.2, 4), rng.uniform(0.2, 0.6), rng.uniform(0.4, 1.5))
    signal = _lowpass_noise(rng, n, rng.uniform(500, 1800)) * (np.float32(0.15) + envelope)
    for start in _event_times(rng, n, rng.uniform(0.3, 3)):
        length = int(rng.uniform(0.03, 0.12) * _SR)
        splash = _band_noise(rng, length, rng.uniform(800, 3500), 1500) * _hann(length)
        _add(signal, splash * np.float32(rng.uniform(0.5, 2)), int(start))
    return signal


def _engine(rng: np.random.Generator, n: int, f0: float, harmonics: int) -> np.ndarray:
    """A combustion engine hum: harmonic series with a wandering pitch."""
    amplitudes = tuple(
        round(float(rng.uniform(0.3, 1.0) / k ** rng.uniform(0.4, 1.1)), 1)
        for k in range(1, harmonics + 1)
    )
    frequency = np.float32(f0) * (1 + np.float32(rng.uniform(0.01, 0.06)) * _slow(rng, n, 0.3))
    return _oscillator(amplitudes, frequency, n)


def _animal_calls(rng: np.random.Generator, n: int) -> np.ndarray:
    """Cattle moos and sheep bleats (formant-shaped harmonic tones)."""
    signal = np.zeros(n, np.float32)
    for start in _event_times(rng, n, rng.uniform(0.02, 0.15)):
        if rng.random() < 0.6:  # moo: low, gliding
            f0 = round(rng.uniform(90, 160), -1)
            length = int(rng.uniform(0.8, 2.0) * _SR)
            glide = np.sin(np.linspace(0, np.pi, length, dtype=np.float32)) * 0.25 + 0.85
            call = _oscillator(_formants(f0, ((300, 150), (800, 250)), 24), f0 * glide, length)
        else:  # bleat: higher, with vibrato
            f0 = round(rng.uniform(300, 500), -1)
            length = int(rng.uniform(0.5, 1.0) * _SR)
            t = np.arange(length, dtype=np.float32) / _SR
            vibrato = 1 + 0.04 * np.sin(2 * np.pi * rng.uniform(6, 9) * t)
            call = _oscillator(_formants(f0, ((600, 200), (1800, 300)), 12), f0 * vibrato, length)
        ramp = np.minimum(np.arange(length), length - np.arange(length)) / 1600
        envelope = np.minimum(1, ramp).astype(np.float32)
        _add(signal, call * envelope * np.float32(rng.uniform(0.4, 1)), int(start))
    return signal


_VOWELS = (((730, 90), (1090, 110)), ((270, 60), (2290, 150)), ((300, 70), (870, 100)),
           ((530, 80), (1840, 130)), ((660, 90), (1720, 120)))  # fmt: skip


def _voices(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Speech-like utterances: syllables of formant-shaped harmonics with falling intonation."""
    signal = np.zeros(n, np.float32)
    for start in _event_times(rng, n, rate_hz):
        f0, position = round(rng.uniform(100, 260), -1), int(start)
        for _ in range(rng.integers(2, 11)):
            length = int(rng.uniform(0.08, 0.3) * _SR)
            vowel = _VOWELS[rng.integers(len(_VOWELS))]
            contour = f0 * np.linspace(1.1, 0.9, length, dtype=np.float32)
            syllable = _oscillator(_formants(f0, vowel, 16), contour, length)
            _add(signal, syllable * _hann(length) * np.float32(rng.uniform(0.5, 1)), position)
            position += length + int(rng.uniform(0.03, 0.15) * _SR)
    return signal


def _horns(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = np.zeros(n, np.float32)
    square = tuple(1.0 / k if k % 2 else 0.0 for k in range(1, 12))
    for start in _event_times(rng, n, rng.uniform(0.0, 0.15)):
        f = rng.uniform(350, 520)
        position = int(start)
        for _ in range(rng.integers(1, 4)):
            length = int(rng.uniform(0.15, 0.7) * _SR)
            tone = _oscillator(square, f, length) + 0.7 * _oscillator(square, f * 1.26, length)
            _add(signal, tone * _hann(length) ** 0.2, position)
            position += length + int(rng.uniform(0.08, 0.25) * _SR)
    return signal


def _car_passes(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Vehicles driving past: tyre noise swelling and fading, engine pitch dropping (Doppler)."""
    signal = np.zeros(n, np.float32)
    t_control = _control_times(n)
    loudness = np.zeros_like(t_control)
    for centre in _event_times(rng, n, rate_hz):
        truck = rng.random() < 0.2
        closest_s = rng.uniform(0.4, 1.5) * (1.5 if truck else 1.0)  # nearest distance / speed
        level = rng.uniform(0.5, 1.5) * (1.6 if truck else 1.0)
        distance = (t_control - np.float32(centre / _SR)) / np.float32(closest_s)
        loudness += np.float32(level) / (1 + distance * distance)
        # the engine is heard only near the point of passing
        length = int(3 * closest_s * _SR)
        t = (np.arange(length, dtype=np.float32) - np.float32(length / 2)) * np.float32(1 / _SR)
        approach = t / np.sqrt(t * t + np.float32(closest_s**2))
        f0 = rng.uniform(30, 55) if truck else rng.uniform(60, 140)
        pitch = np.float32(f0) / (1 + np.float32(rng.uniform(0.04, 0.1)) * approach)
        engine = _oscillator((1.0, 0.6, 0.4, 0.3, 0.2, 0.15), pitch, length)
        _add(signal, engine * _hann(length) * np.float32(0.5 * level), int(centre) - length // 2)
    tyres = _lowpass_noise(rng, n, rng.uniform(1500, 5000))
    signal += tyres * _upsample(loudness, _CONTROL_STEP, n)
    return signal


def _gulls(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = np.zeros(n, np.float32)
    for start in _event_times(rng, n, rng.uniform(0.05, 0.4)):
        f0, position = rng.uniform(700, 1400), int(start)
        for _ in range(rng.integers(2, 7)):
            length = int(rng.uniform(0.2, 0.6) * _SR)
            t = np.linspace(0, 1, length, dtype=np.float32)
            contour = f0 * (1 + 0.35 * np.sin(np.pi * np.minimum(t * 1.6, 1)) - 0.25 * t)
            call = _oscillator((0.6, 1.0, 0.7, 0.4, 0.25), contour, length)
            call *= 1 + np.float32(0.3) * _white(rng, length)  # raspy
            _add(signal, call * _hann(length) * np.float32(rng.uniform(0.4, 1)), position)
            position += length + int(rng.uniform(0.08, 0.3) * _SR)
    return signal


def _wind(rng: np.random.Generator, n: int, cutoff_hz: float) -> np.ndarray:
    return _lowpass_noise(rng, n, cutoff_hz) * (1 + np.float32(0.6) * _slow(rng, n, 0.2))


def _sound_water(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _waves(rng, n, surf=False)
    if rng.random() < 0.25:  # a boat motor in the distance
        signal += np.float32(rng.uniform(0.1, 0.4)) * _engine(rng, n, rng.uniform(30, 60), 8)
    return signal


def _sound_forest(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _birds(rng, n, rng.uniform(0.2, 1.0)) * np.float32(rng.uniform(0.6, 1.5))
    signal += _wind(rng, n, rng.uniform(2000, 6000)) * np.float32(rng.uniform(0.05, 0.3))
    return signal


def _sound_farmland(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _wind(rng, n, rng.uniform(300, 800)) * np.float32(rng.uniform(0.1, 0.4))
    if rng.random() < 0.8:  # a tractor working nearby, coming and going
        t = _control_times(n)
        centre, spread = rng.uniform(0, n / _SR), rng.uniform(3, 15)
        nearness = 0.2 + 1 / (1 + ((t - np.float32(centre)) / np.float32(spread)) ** 2)
        engine = _engine(rng, n, rng.uniform(25, 60), 20)
        signal += engine * _upsample(nearness.astype(np.float32), _CONTROL_STEP, n)
    if rng.random() < 0.7:
        signal += _animal_calls(rng, n) * np.float32(rng.uniform(0.5, 1.5))
    if rng.random() < 0.4:  # skylarks
        signal += _birds(rng, n, rng.uniform(0.1, 0.4)) * np.float32(rng.uniform(0.1, 0.3))
    return signal


def _sound_urban(rng: np.random.Generator, n: int) -> np.ndarray:
    rumble = _lowpass_noise(rng, n, rng.uniform(400, 1200))
    rumble += _white(rng, n) * np.float32(rng.uniform(0.1, 0.3))
    signal = rumble * (1 + np.float32(0.3) * _slow(rng, n, 0.1))
    signal += _voices(rng, n, rng.uniform(0.05, 0.3)) * np.float32(rng.uniform(0.5, 1.5))
    signal += _horns(rng, n) * np.float32(rng.uniform(0.3, 1.0))
    if rng.random() < 0.1:  # a siren
        wail = np.float32(rng.uniform(650, 800)) * (
            1 + np.float32(0.25) * np.sin(_slow(rng, n, 0.5) * 3)
        )
        signal += _oscillator((1.0, 0.3, 0.1), wail, n) * np.float32(rng.uniform(0.2, 0.6))
    return signal


def _sound_road(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _car_passes(rng, n, rng.uniform(0.1, 0.5))
    signal += _lowpass_noise(rng, n, rng.uniform(150, 400)) * np.float32(rng.uniform(0.1, 0.3))
    if rng.random() < 0.3:
        signal += _birds(rng, n, rng.uniform(0.1, 0.4)) * np.float32(rng.uniform(0.1, 0.3))
    return signal


def _sound_beach(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _waves(rng, n, surf=True)
    if rng.random() < 0.8:
        signal += _gulls(rng, n) * np.float32(rng.uniform(0.4, 1.2))
    if rng.random() < 0.3:  # people on the beach
        signal += _voices(rng, n, rng.uniform(0.03, 0.15)) * np.float32(rng.uniform(0.1, 0.4))
    return signal


_SOUNDS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "water": _sound_water,
    "forest": _sound_forest,
    "farmland": _sound_farmland,
    "urban": _sound_urban,
    "road": _sound_road,
    "beach": _sound_beach,
}


def _rms(signal: np.ndarray) -> float:
    return max(float(np.sqrt(np.mean(np.square(signal), dtype=np.float64))), 1e-9)


def render_sound(
    class_name: str, rng: np.random.Generator, seconds: float, secondary: str | None = None
) -> np.ndarray:
    """A mono field recording typical of one class, at :data:`DEMO_SAMPLE_RATE`.

    Args:
        class_name: one of :data:`SCENE_CLASSES`.
        rng: the random source (the sound is a function of its state).
        seconds: duration.
        secondary: another class heard faintly in the background, or None.

    Returns:
        int16 samples.
    """
    n = int(round(seconds * _SR))
    signal = _SOUNDS[class_name](rng, n)
    signal *= np.float32(1 / _rms(signal))
    if secondary is not None:
        other = _SOUNDS[secondary](rng, n)
        signal += other * np.float32(rng.uniform(0.15, 0.45) / _rms(other))
    # the recorder's own noise floor and a random recording level
    signal += _white(rng, n) * np.float32(10 ** rng.uniform(-2.5, -1.5))
    signal *= np.float32(32767 * 10 ** (rng.uniform(-26, -14) / 20) / _rms(signal))
    peak = float(np.max(np.abs(signal)))
    if peak > 0.95 * 32767:
        signal *= np.float32(0.95 * 32767 / peak)
    return np.rint(signal).astype(np.int16)
