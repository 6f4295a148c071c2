"""A nanoGPT-style DDP training script, written for torch (no tests here).

tests/test_distributed_nanogpt.py runs it as it is with torch in one process, then with only its
import lines pointed at tinygrad_lite under `mpiexec -n 2`. Like nanoGPT's train.py it finds out
from RANK whether a launcher started it, uses DistributedSampler, gradient accumulation through
require_backward_grad_sync, gradient clipping and AdamW, ties the embedding to the head, and has
rank 0 alone print and save.
"""
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed import destroy_process_group, init_process_group
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

VOCAB, BLOCK, EMBD, HEADS, LAYERS = 16, 8, 16, 2, 2


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(EMBD, 3 * EMBD)
        self.c_proj = nn.Linear(EMBD, EMBD)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        k = k.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        v = v.view(B, T, HEADS, C // HEADS).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(EMBD)
        self.attn = CausalSelfAttention()
        self.ln_2 = nn.LayerNorm(EMBD)
        self.mlp = nn.Sequential(nn.Linear(EMBD, 4 * EMBD), nn.GELU(), nn.Linear(4 * EMBD, EMBD))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, EMBD)
        self.wpe = nn.Embedding(BLOCK, EMBD)
        self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(EMBD)
        self.lm_head = nn.Linear(EMBD, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight          # weight tying, as in nanoGPT

    def forward(self, idx, targets):
        pos = torch.arange(0, idx.size(1), dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))


def main(out_path):
    ddp = int(os.environ.get("RANK", -1)) != -1
    if ddp:
        init_process_group(backend="gloo")
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    else:
        rank, world = 0, 1
    master = rank == 0
    torch.manual_seed(1337)
    # every sequence counts up by one (mod VOCAB) from its own start: learnable in a few steps
    data = np.array([[(s + t) % VOCAB for t in range(BLOCK + 1)] for s in range(64)])
    data = torch.tensor(data, dtype=torch.long)
    dataset = TensorDataset(data[:, :-1], data[:, 1:])
    sampler = DistributedSampler(dataset, shuffle=True, seed=0) if ddp else None
    loader = DataLoader(dataset, batch_size=8, sampler=sampler, shuffle=sampler is None,
                        drop_last=True)
    model = GPT()
    if ddp:
        model = DDP(model)
    raw_model = model.module if ddp else model
    optimizer = torch.optim.AdamW(raw_model.parameters(), lr=1e-2, weight_decay=0.1)
    accumulation = 2
    for epoch in range(4):
        if ddp:
            sampler.set_epoch(epoch)
        total, count = torch.zeros(()), 0
        for step, (x, y) in enumerate(loader):
            last_micro = step % accumulation == accumulation - 1
            if ddp:
                model.require_backward_grad_sync = last_micro
            _, loss = model(x, y)
            (loss / accumulation).backward()
            if last_micro:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            total, count = total + loss.detach(), count + 1
        mean = total / count
        if ddp:
            dist.all_reduce(mean, op=dist.ReduceOp.AVG)
        if master:
            print(f"epoch {epoch} world {world} loss {mean.item():.4f}", flush=True)
    if master:
        torch.save(raw_model.state_dict(), out_path)
    if ddp:
        destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
