"""Videos for a blind vote: two clips of different lengths come out alike in everything but their
pictures."""

from __future__ import annotations

import numpy as np
import pytest

from twin.video import VideoError, hold_last_frame, read_mp4, same_length_mp4s, video_fps, write_mp4


def clip(n: int, colour: tuple[int, int, int]) -> np.ndarray:
    frames = np.zeros((n, 48, 64, 3), np.uint8)
    frames[:] = colour
    frames[:, :, :8] = (np.arange(n, dtype=np.uint8) * 12)[:, None, None, None]  # it moves
    return frames


def test_hold_last_frame_repeats_the_last_frame_and_never_shortens():
    frames = np.arange(3)[:, None] * np.ones((3, 2))
    held = hold_last_frame(frames, 5)
    assert held.shape == (5, 2) and (held[3:] == frames[-1]).all() and (held[:3] == frames).all()
    assert hold_last_frame(frames, 2) is frames


def test_a_vote_pairs_videos_have_equal_duration_and_frame_count(tmp_path):
    short, long = tmp_path / "success.mp4", tmp_path / "timeout.mp4"
    write_mp4(short, clip(4, (40, 200, 60)), fps=10)
    write_mp4(long, clip(20, (220, 40, 40)), fps=10)
    a, b = same_length_mp4s([short, long])
    (tmp_path / "a.mp4").write_bytes(a)
    (tmp_path / "b.mp4").write_bytes(b)
    frames_a, frames_b = read_mp4(tmp_path / "a.mp4"), read_mp4(tmp_path / "b.mp4")
    assert len(frames_a) == len(frames_b) == 20
    assert video_fps(tmp_path / "a.mp4") == video_fps(tmp_path / "b.mp4") == 10
    # the short one holds its last frame: its tail is still, the pictures are the originals'
    tail = frames_a[3:].astype(int)
    assert np.abs(tail - tail[0]).max() <= 2
    assert np.abs(frames_a[3].astype(int) - read_mp4(short)[3].astype(int)).mean() < 3
    assert np.abs(frames_b.astype(int) - read_mp4(long).astype(int)).mean() < 3


def test_an_unreadable_video_is_one_error_naming_it(tmp_path):
    good, bad = tmp_path / "good.mp4", tmp_path / "bad.mp4"
    write_mp4(good, clip(3, (1, 2, 3)), fps=5)
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        same_length_mp4s([good, bad])


def keyframes(path) -> list[int]:
    import av

    with av.open(str(path)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
    return [i for i, p in enumerate(packets) if p.is_keyframe]


def test_videos_put_their_index_first_and_keep_the_keyframe_interval_asked_for(tmp_path):
    """``+faststart``: the ``moov`` box precedes the media data, so a browser plays before it has
    loaded the file; a keyframe every k frames, so a seek decodes at most k frames."""
    plain, seekable = tmp_path / "plain.mp4", tmp_path / "seekable.mp4"
    write_mp4(plain, clip(30, (90, 90, 200)), fps=10)
    write_mp4(seekable, clip(30, (90, 90, 200)), fps=10, keyframe_interval=3)
    for path in (plain, seekable):
        data = path.read_bytes()
        assert 0 <= data.find(b"moov") < data.find(b"mdat"), path.name
    assert keyframes(plain) == [0]
    assert keyframes(seekable) == list(range(0, 30, 3))
    assert np.abs(read_mp4(seekable).astype(int) - clip(30, (90, 90, 200))).mean() < 3
    with pytest.raises(VideoError, match="keyframe interval"):
        write_mp4(tmp_path / "bad.mp4", clip(3, (0, 0, 0)), fps=10, keyframe_interval=0)
