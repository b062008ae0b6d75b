#!/usr/bin/python3
"""Trains a small LLaMA-architecture causal language model on public-domain
text that Debian ships, and exports it to ONNX.

Recipe (fixed seed, deterministic up to PyTorch's CPU kernels):
  * text: Jane Austen's six novels (r-cran-janeaustenr, dumped with
    Rscript) and the King James Bible (bible-kjv-text, read with the `bible`
    program of bible-kjv); Debian packages: python3-torch
    python3-sentencepiece r-cran-janeaustenr bible-kjv, and
    libopenblas0-pthread (Debian's default reference BLAS is 15x slower);
  * split by book: validation is "Persuasion"; training is the other five
    novels and the Bible;
  * tokenizer: SentencePiece BPE, 2048 pieces, trained on the training text;
  * model: RMSNorm, rotary position embeddings, SwiGLU feed-forward, untied
    input embedding and output head; d = 192, 4 layers, 6 heads, ff 512,
    context 128 (about 2.6 M parameters);
  * AdamW, lr 3e-3 with warm-up and cosine decay, batch 32 x 128 tokens,
    for --minutes of wall-clock time (default 25) on the CPU.

Outputs in --out (default build/lm): lm.onnx (input `tokens` int64
[batch, seq], output `logits` float [batch, seq, 2048]; both dims dynamic),
tokenizer.model, val_tokens.npy, train_tokens.npy, train_log.json.

usage: bench/lm/train_lm.py [--out build/lm] [--minutes 25]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VALIDATION_BOOK = "Persuasion"

CONFIG = dict(vocab=2048, d=192, layers=4, heads=6, ff=512, context=128)


def austen_books():
    """{book title: text} from the janeaustenr R package."""
    script = ("library(janeaustenr); b <- austen_books(); "
              "for (t in levels(b$book)) { cat('@@BOOK ', t, '\\n', sep=''); "
              "writeLines(b$text[b$book == t]) }")
    out = subprocess.run(["Rscript", "-e", script], capture_output=True,
                         text=True, check=True).stdout
    books, title, lines = {}, None, []
    for line in out.splitlines():
        if line.startswith("@@BOOK "):
            if title:
                books[title] = "\n".join(lines)
            title, lines = line[7:].strip(), []
        else:
            lines.append(line)
    if title:
        books[title] = "\n".join(lines)
    return books


def kjv_text():
    """The King James Bible from bible-kjv-text, through the `bible` reader
    (package bible-kjv), without the verse references."""
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"],
                         capture_output=True, text=True, check=True).stdout
    verses = [line.split(" ", 1)[1] for line in out.splitlines()
              if " " in line and ":" in line.split(" ", 1)[0]]
    if len(verses) < 30000:
        raise SystemExit("the bible reader returned %d verses" % len(verses))
    return "\n".join(verses)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) \
            * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads = heads
        self.attn_norm = RMSNorm(d)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.mlp_norm = RMSNorm(d)
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        hd = d // self.heads
        h = self.attn_norm(x)
        q = self.q_proj(h).view(b, t, self.heads, hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.heads, hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + mask
        a = torch.softmax(s, dim=-1) @ v
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, d))
        h = self.mlp_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class TinyLlama(nn.Module):
    def __init__(self, vocab, d, layers, heads, ff, context):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        hd = d // heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(context).float(), inv)
        ang = torch.cat([ang, ang], dim=-1)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)
        mask = torch.full((context, context), -1e9).triu(1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.embed(tokens)
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def batches(tokens, batch, context, rng):
    starts = rng.integers(0, len(tokens) - context - 1, size=batch)
    x = np.stack([tokens[s:s + context] for s in starts])
    y = np.stack([tokens[s + 1:s + context + 1] for s in starts])
    return torch.from_numpy(x).long(), torch.from_numpy(y).long()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "build", "lm"))
    p.add_argument("--minutes", type=float, default=25.0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    import sentencepiece as spm
    books = austen_books()
    if VALIDATION_BOOK not in books:
        raise SystemExit("janeaustenr has no '%s': %s" % (VALIDATION_BOOK,
                                                          list(books)))
    train_text = "\n".join(t for b, t in sorted(books.items())
                           if b != VALIDATION_BOOK) + "\n" + kjv_text()
    val_text = books[VALIDATION_BOOK]
    corpus = os.path.join(args.out, "train.txt")
    with open(corpus, "w") as f:
        f.write(train_text)
    prefix = os.path.join(args.out, "tokenizer")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=CONFIG["vocab"],
        model_type="bpe", character_coverage=1.0, seed_sentencepiece_size=100000,
        input_sentence_size=200000, shuffle_input_sentence=False,
        num_threads=args.threads, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    train = np.array(sp.encode(train_text), np.int32)
    val = np.array(sp.encode(val_text), np.int32)
    np.save(os.path.join(args.out, "train_tokens.npy"), train)
    np.save(os.path.join(args.out, "val_tokens.npy"), val)
    print("tokens: train %d, validation %d (%s)" % (len(train), len(val),
                                                   VALIDATION_BOOK), flush=True)

    model = TinyLlama(**CONFIG)
    params = sum(p.numel() for p in model.parameters())
    print("parameters: %d" % params, flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95),
                            weight_decay=0.1)
    ctx, bs = CONFIG["context"], 32
    # Steps are fixed by a first timing so the schedule fits the budget.
    start = time.time()
    log, step, total = [], 0, None
    while True:
        elapsed = time.time() - start
        if total is None and step == 20:
            total = max(100, int(20 * args.minutes * 60 / elapsed))
            print("schedule: %d steps" % total, flush=True)
        if total is not None and step >= total:
            break
        lr = 3e-3 * min(1.0, (step + 1) / 100)
        if total:
            lr *= 0.5 * (1 + math.cos(math.pi * min(1.0, step / total))) * 0.95 + 0.05
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batches(train, bs, ctx, rng)
        loss = F.cross_entropy(model(x).view(-1, CONFIG["vocab"]), y.view(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            model.eval()
            with torch.no_grad():
                vx, vy = batches(val, 16, ctx, np.random.default_rng(1))
                vl = F.cross_entropy(model(vx).view(-1, CONFIG["vocab"]),
                                     vy.view(-1)).item()
            model.train()
            log.append(dict(step=step, loss=loss.item(), val_loss=vl,
                            seconds=time.time() - start))
            print("step %5d  loss %.3f  val %.3f  (ppl %.1f)  %.0fs" % (
                step, loss.item(), vl, math.exp(vl), time.time() - start),
                flush=True)
        step += 1
    model.eval()
    path = os.path.join(args.out, "lm.onnx")
    torch.onnx.export(model, (torch.zeros(1, 16, dtype=torch.long),), path,
                      input_names=["tokens"], output_names=["logits"],
                      dynamic_axes={"tokens": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch", 1: "seq"}},
                      opset_version=17)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(dict(config=CONFIG, parameters=params, steps=step,
                       validation_book=VALIDATION_BOOK, log=log,
                       torch=torch.__version__), f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
