"""Playback of the clip shown, with a position for the cursor, seeking and looping.

Audio goes to the default output through QAudioSink, which pulls it from an
in-memory source; a looped region is one stream that wraps around (a new sink
per repeat would wait for the sound server each time: 1.5 s of silence between
repeats on PulseAudio). With no output device (a server, CI, a broken sound
setup) the player says so once and every other part of the window works as usual.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QIODevice, QObject, QTimer, Signal

CURSOR_INTERVAL_MS = 30


class LoopingSource(QIODevice):
    """Encoded audio read from ``start`` on; with ``looping`` it wraps to the beginning for ever."""

    def __init__(self, data: bytes, start: int, looping: bool, parent=None):
        super().__init__(parent)
        self.data = data
        self.offset = start
        self.looping = looping and len(data) > 0
        self.open(QIODevice.OpenModeFlag.ReadOnly)

    def readData(self, maxlen: int) -> bytes:
        out = bytearray()
        while len(out) < maxlen:
            if self.offset >= len(self.data):
                if not self.looping:
                    break
                self.offset = 0
            chunk = self.data[self.offset:self.offset + maxlen - len(out)]
            out += chunk
            self.offset += len(chunk)
        return bytes(out)

    def writeData(self, data) -> int:
        return -1

    def bytesAvailable(self) -> int:
        left = len(self.data) if self.looping else len(self.data) - self.offset
        return left + super().bytesAvailable()

    def isSequential(self) -> bool:
        return True

    def atEnd(self) -> bool:
        return not self.looping and self.offset >= len(self.data)


SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


class Player(QObject):
    """Plays the clip shown. Speeds other than 1x change the rate and with it the pitch (a tape
    played faster), which keeps every sample and costs one resampling per play."""

    position_changed = Signal(float)  # seconds from the clip's start
    playing_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.samples = np.zeros(0, np.float32)
        self.sample_rate = 16000
        self.offset_s = 0.0
        self._loop: tuple[float, float] | None = None
        self._sink = None
        self._buffer: LoopingSource | None = None
        self.speed = 1.0
        self._start_s = 0.0
        self._span = (0.0, 0.0)  # what the source holds, in seconds of the clip
        self._position_s = 0.0
        self._timer = QTimer(self, interval=CURSOR_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self.unavailable_reason = self._find_output()

    def set_speed(self, speed: float) -> None:
        """Play ``speed`` times as fast (0.5-2); a play under way goes on from where it is."""
        self.speed = min(max(float(speed), SPEEDS[0]), SPEEDS[-1])
        if self.playing:
            self._update_position()
            self._start_playing(self._position_s)

    def faster(self) -> float:
        self.set_speed(next((s for s in SPEEDS if s > self.speed + 1e-9), SPEEDS[-1]))
        return self.speed

    def slower(self) -> float:
        self.set_speed(next((s for s in reversed(SPEEDS) if s < self.speed - 1e-9), SPEEDS[0]))
        return self.speed

    @property
    def loop(self) -> tuple[float, float] | None:
        """The region played over and over, in seconds of the clip; None plays to the end."""
        return self._loop

    @loop.setter
    def loop(self, region: tuple[float, float] | None) -> None:
        self._loop = region
        if region is None and self._buffer is not None:
            self._buffer.looping = False  # the repeat under way plays to the region's end, then stops

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def position_s(self) -> float:
        return self._position_s

    def _find_output(self) -> str | None:
        try:
            from PySide6.QtMultimedia import QAudioFormat, QMediaDevices
        except ImportError as exc:  # Qt Multimedia or its system libraries missing
            return f"playback is unavailable: {exc}"
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return "playback is unavailable: no audio output device"
        self._device = device
        self._format = device.preferredFormat()
        self._format.setSampleFormat(QAudioFormat.SampleFormat.Float)
        if not device.isFormatSupported(self._format):
            self._format = device.preferredFormat()
        return None

    def set_audio(self, samples: np.ndarray, sample_rate: int, offset_s: float = 0.0) -> None:
        """What to play: samples starting ``offset_s`` into the clip (a long clip's decoded part)."""
        self.stop()
        self.samples = np.asarray(samples, np.float32)
        self.sample_rate = int(sample_rate)
        self.offset_s = float(offset_s)
        self.loop = None
        self._position_s = self.offset_s

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self, from_s: float | None = None) -> None:
        if not self.available or len(self.samples) == 0:
            return
        start = self._position_s if from_s is None else from_s
        if self.loop is not None and not (self.loop[0] <= start < self.loop[1]):
            start = self.loop[0]
        if not self.offset_s <= start < self.end_s - 1e-3:
            start = self.offset_s
        self._start_playing(start)

    @property
    def end_s(self) -> float:
        return self.offset_s + len(self.samples) / self.sample_rate

    def _index(self, seconds: float) -> int:
        return int(round((seconds - self.offset_s) * self.sample_rate))

    def _start_playing(self, start_s: float) -> None:
        from PySide6.QtMultimedia import QAudioSink

        self._stop_sink()
        if self.loop is not None:  # the region, entered at start_s, round and round
            first, last = max(self.offset_s, self.loop[0]), min(self.loop[1], self.end_s)
            data = self._encode(self.samples[max(0, self._index(first)):self._index(last)])
            start = self._bytes_at(start_s - first)
        else:
            first, last = start_s, self.end_s
            data = self._encode(self.samples[max(0, self._index(first)):])
            start = 0
        self._buffer = LoopingSource(data, min(start, len(data)), looping=self.loop is not None, parent=self)
        self._sink = QAudioSink(self._device, self._format, self)
        self._start_s, self._span = start_s, (first, last)
        self._sink.start(self._buffer)
        self._timer.start()
        self.playing_changed.emit(True)

    def _bytes_at(self, seconds: float) -> int:
        """The byte offset of a whole frame ``seconds`` of the clip into encoded audio."""
        frame = self._format.bytesPerFrame()
        return max(0, int(seconds / self.speed * self._format.sampleRate())) * frame

    def _encode(self, samples: np.ndarray) -> bytes:
        """Samples at the output's rate, channel count and sample format."""
        from PySide6.QtMultimedia import QAudioFormat

        rate = self._format.sampleRate()
        source_rate = round(self.sample_rate * self.speed)  # faster: fewer output samples per second of clip
        if rate != source_rate:
            from voicestudio.audio.resample import resample

            samples = resample(samples, source_rate, rate)
        samples = np.repeat(samples[:, None], self._format.channelCount(), axis=1)
        kind = self._format.sampleFormat()
        if kind == QAudioFormat.SampleFormat.Int16:
            return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        if kind == QAudioFormat.SampleFormat.Int32:
            return (np.clip(samples, -1, 1) * 2147483647).astype("<i4").tobytes()
        if kind == QAudioFormat.SampleFormat.UInt8:
            return ((np.clip(samples, -1, 1) * 127) + 128).astype(np.uint8).tobytes()
        return samples.astype("<f4").tobytes()

    def _finished(self) -> None:
        if self.loop is not None and self.playing:
            self._start_playing(self.loop[0])
            return
        self.stop()

    def pause(self) -> None:
        if self.playing:
            self._update_position()
            self._stop_sink()
            self._timer.stop()
            self.playing_changed.emit(False)

    def stop(self) -> None:
        self.pause()
        self._position_s = self.offset_s

    def seek(self, seconds: float) -> None:
        self._position_s = float(min(max(seconds, self.offset_s), self.end_s))
        self.position_changed.emit(self._position_s)
        if self.playing:
            self._start_playing(self._position_s)

    def _stop_sink(self) -> None:
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
            self._sink = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None

    def _tick(self) -> None:
        """Move the cursor; at the end of the buffer, stop or loop.

        The end is read from the sink's state here rather than from its stateChanged
        signal: Qt 6.7 moved the enum from QAudio to QtAudio, and PySide6 then cannot
        convert it into a Python slot's argument (a TypeError on every state change, and
        the player never learnt it had finished).
        """
        from PySide6 import QtMultimedia

        idle = (getattr(QtMultimedia, "QtAudio", None) or QtMultimedia.QAudio).State.IdleState  # 6.7+ / 6.6
        if self._sink is None:
            return
        self._update_position()
        if self._sink.state() == idle and self._buffer.atEnd():  # played to the end
            self._finished()

    def _update_position(self) -> None:
        if self._sink is None:
            return
        played = self._sink.processedUSecs() / 1e6 * self.speed  # seconds of the clip
        first, last = self._span
        if self._buffer is not None and self._buffer.looping and last > first:
            self._position_s = first + (self._start_s - first + played) % (last - first)
        else:
            self._position_s = self._start_s + played
        self.position_changed.emit(self._position_s)
