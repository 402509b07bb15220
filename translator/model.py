"""The encoder-decoder and its small step-wise API.

Everything that runs the network goes through four methods:

- `encode(src, lengths, carry)` -> EncoderOutput (+ the encoder's part of the next document state)
- `init_state(enc, doc_state)` -> what the decoder attends to and its initial state, continuing the document state
- `step(prev_tokens, state, enc)` -> log-probabilities of the next token and the new state
- `decode(tgt_in, lengths, state, enc)` -> features of a whole target (teacher forcing)

Greedy and beam search call `step`; training and scoring call `decode`;
both are the same `Decoder.forward`. `next_doc_state` turns one sentence's
final states into the document state (`DocState`) of the next sentence of its document.

With `context: attend` the document state also holds a memory of the newest source
tokens of earlier sentences. `encode` puts them in front of the current
sentence's states, so the decoder's one attention covers both, and nothing
downstream (search, scoring, serving) needs to know. A learned tag added to
the memory's states lets attention tell old tokens from current ones.

With `context: target` the memory holds the previous sentence's *translation*
instead (Bawden et al. 2018's best RNN variant used target-side context): the
Spanish gender of an antecedent is explicit there ("la vaca", "el perro"),
while the English source says nothing of it. The memory depends on what the
decoder produced, so `next_doc_state` builds it from the sentence's output
pieces, and `init_state` (not `encode`, which may run sentences ahead) puts it
in front of the current sentence's states.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from translator.config import ModelConfig
from translator.decoder import Decoder
from translator.encoder import Encoder
from translator.output import OutputRows, StepOutput
from translator.state import DocState, EncoderCarry, EncoderOutput, LSTMState, Memory
from translator.tokenizer import EOS_ID, PAD_ID

MEMORY_MODES = ("attend", "target")  # context modes whose document state holds a `Memory`


class DecodeOutput(NamedTuple):
    features: Tensor  # (B, T, F); `Seq2Seq.logits` maps them to the vocabulary
    state: LSTMState  # final state at each row's last real token


class Seq2Seq(nn.Module):
    """Bi-LSTM encoder, attentional LSTM decoder, optional document context."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        src_embed = nn.Embedding(cfg.vocab_size, cfg.emb_size, padding_idx=PAD_ID)
        tgt_embed = (
            src_embed if cfg.share_embeddings else nn.Embedding(cfg.vocab_size, cfg.emb_size, padding_idx=PAD_ID)
        )
        self.encoder = Encoder(cfg, src_embed)
        self.decoder = Decoder(cfg, tgt_embed)
        self.output = nn.Linear(self.decoder.feature_size, cfg.vocab_size)
        if cfg.tie_output:
            self.output.weight = tgt_embed.weight
        self.memory_tag = nn.Parameter(torch.zeros(2 * cfg.enc_hidden)) if cfg.context in MEMORY_MODES else None
        # `target`: output pieces -> memory entries the attention can read beside the encoder's states
        self.target_memory = nn.Linear(cfg.emb_size, 2 * cfg.enc_hidden) if cfg.context == "target" else None
        self._reset_parameters()

    @property
    def uses_context(self) -> bool:
        return self.cfg.context != "none"

    @property
    def remembers_outputs(self) -> bool:
        """Whether `next_doc_state` needs the sentence's output pieces (`context: target`)."""
        return self.cfg.context == "target"

    def _reset_parameters(self) -> None:
        """Small uniform init (as OpenNMT's RNN default) and forget-gate bias 1."""
        for name, p in self.named_parameters():
            nn.init.uniform_(p, -0.1, 0.1)
            if "lstm.bias" in name:
                hidden = p.shape[0] // 4
                p.data[hidden : 2 * hidden].fill_(0.5)  # ih + hh biases add up to 1
        with torch.no_grad():
            self.encoder.embed.weight[PAD_ID].zero_()
            self.decoder.embed.weight[PAD_ID].zero_()

    def empty_doc_state(self, batch: int, device: torch.device | str = "cpu") -> DocState | None:
        """Document state of a document's first sentence (None for sentence-level models)."""
        if not self.uses_context:
            return None
        c = self.cfg
        memory = Memory.empty(batch, c.memory_tokens, 2 * c.enc_hidden, device) if c.context in MEMORY_MODES else None
        return DocState(
            LSTMState.zeros(c.enc_layers, batch, c.enc_hidden, device),
            LSTMState.zeros(c.dec_layers, batch, c.dec_hidden, device),
            memory,
        )

    def encode(self, src: Tensor, lengths: Tensor, carry: EncoderCarry | None) -> tuple[EncoderOutput, EncoderCarry]:
        """Encode (B, S) sources; also returns what the encoder leaves for the next sentence.

        It continues from `carry` (a `DocState.encoder_carry`), never from the
        decoder's state: a document's sources can thus all be encoded before
        any of them is translated.
        """
        states, summary, forward_final = self.encoder(src, lengths, carry.state if carry else None)
        keys, mask = self.decoder.attention.project(states), src != PAD_ID  # keys (B, S, Hd)
        enc = EncoderOutput(states, keys, mask, summary)
        if self.cfg.context != "attend" or carry is None or carry.memory is None:
            return enc, EncoderCarry(forward_final)
        memory = carry.memory
        kept = Memory.newest(
            torch.cat([memory.states.to(states.dtype), states], 1),
            torch.cat([memory.mask, mask], 1),
            self.cfg.memory_tokens,
        )
        return self._in_front(memory, enc), EncoderCarry(forward_final, kept)

    def _in_front(self, memory: Memory, enc: EncoderOutput) -> EncoderOutput:
        """`enc` with the memory's entries in front of its states, tagged as old in keys and values alike."""
        assert self.memory_tag is not None, "only memory modes put a memory in front"
        tagged = memory.states + self.memory_tag
        states = torch.cat([tagged.to(enc.states.dtype), enc.states], 1)  # (B, N + S, 2He)
        keys = torch.cat([self.decoder.attention.project(tagged).to(enc.keys.dtype), enc.keys], 1)
        return EncoderOutput(states, keys, torch.cat([memory.mask, enc.mask], 1), enc.summary)

    def init_state(self, enc: EncoderOutput, doc_state: DocState | None) -> tuple[EncoderOutput, LSTMState]:
        """What the decoder attends to and its initial state, for a sentence continuing `doc_state`.

        The encoder output comes back unchanged, except with `context: target`:
        the previous sentence's translation then stands in front of it.
        """
        if self.cfg.context == "target" and doc_state is not None and doc_state.memory is not None:
            enc = self._in_front(doc_state.memory, enc)
        return enc, self.decoder.init_state(enc, doc_state.decoder if doc_state else None)

    def step(
        self, prev_tokens: Tensor, state: LSTMState, enc: EncoderOutput, output: OutputRows | None = None
    ) -> StepOutput:
        """One decoding step for (B,) previous tokens.

        `output` restricts scoring to a shortlist: the scores then have one
        column per shortlisted piece (`StepOutput.ids`), so the search's top-k
        runs over those alone, not over a full-vocabulary row of -inf.
        """
        features, new_state, weights = self.decoder(prev_tokens.unsqueeze(1), None, state, enc)
        if output is not None:
            return StepOutput(output.log_probs(features[:, 0]), new_state, weights[:, 0], output.ids)
        log_probs = self.logits(features[:, 0]).log_softmax(dim=-1)  # (B, V)
        return StepOutput(log_probs, new_state, weights[:, 0])

    def decode(self, tgt_in: Tensor, lengths: Tensor, state: LSTMState, enc: EncoderOutput) -> DecodeOutput:
        """Teacher-forced pass over (B, T) target inputs."""
        features, final, _ = self.decoder(tgt_in, lengths, state, enc)
        return DecodeOutput(features, final)

    def force(
        self, src: Tensor, src_len: Tensor, tgt_in: Tensor, tgt_len: Tensor, doc_state: DocState | None
    ) -> tuple[DecodeOutput, EncoderCarry]:
        """Teacher-force a batch continuing `doc_state`: the decoder's output, and what the encoder leaves.

        The one sequence (encode, init_state, decode) that training's loss, its contrastive margin
        and inference's forced scoring share; `next_doc_state` turns the pair into the next context.
        """
        enc, enc_final = self.encode(src, src_len, doc_state.encoder_carry if doc_state else None)
        enc, state = self.init_state(enc, doc_state)
        return self.decode(tgt_in, tgt_len, state, enc), enc_final

    def logits(self, features: Tensor) -> Tensor:
        """(..., F) -> (..., V). Kept separate so training projects only real tokens."""
        return self.output(features)

    def next_doc_state(
        self, encoder: EncoderCarry, decoder_final: LSTMState, target: Tensor | None = None
    ) -> DocState | None:
        """The document state a sentence leaves for the next sentence of its document.

        `target` (B, T): the sentence's output pieces (padded; BOS, EOS and
        padding are ignored), which `context: target` remembers.
        """
        if not self.uses_context:
            return None
        memory = encoder.memory
        if self.remembers_outputs:
            if target is None:
                raise ValueError("a `context: target` model's document state needs the sentence's output pieces")
            memory = self._target_memory(target)
        return DocState(encoder.state, decoder_final, memory)

    def _target_memory(self, target: Tensor) -> Memory:
        """The newest `memory_tokens` pieces of (B, T) `target` as memory entries, bounded like LSTM outputs."""
        assert self.target_memory is not None
        slots = self.cfg.memory_tokens
        if target.shape[1] < slots:
            target = nn.functional.pad(target, (0, slots - target.shape[1]), value=PAD_ID)
        states = torch.tanh(self.target_memory(self.decoder.embed(target)))  # (B, T, 2He)
        return Memory.newest(states, target > EOS_ID, slots)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
