"""Continuous batching with a real model: what shares a step, that sharing changes no translation,
and that cancelled, expired and excess requests stop costing model time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from server.batcher import Batcher, BatchStats, Job
from server.errors import RequestError
from server.registry import FileStamp, ServedModel, load_model
from tests.synthetic import make_documents
from translator.state import DocState, LSTMState


@pytest.fixture(scope="module")
def model(trained_run: Path) -> ServedModel:
    import torch

    return load_model("tiny", FileStamp.of(trained_run), torch.device("cpu"))


def job(model: ServedModel, sentences: list[str], **kw: object) -> Job:
    return Job(model, sentences, None, model.translator.config.decode, **kw)  # type: ignore[arg-type]


def test_concurrent_documents_share_steps_and_match_offline_translation(model: ServedModel) -> None:
    docs = [list(d.sources) for d in make_documents(8, seed=5)]
    docs[3] = docs[3][:1]  # documents of different lengths leave the search at different steps
    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=16, max_wait_ms=2000, on_batch=steps.append)
    jobs = [batcher.submit(job(model, doc)) for doc in docs]
    results = [j.future.result(timeout=30) for j in jobs]
    batcher.stop()
    offline = model.translator.translate_documents(docs)
    assert [[t.text for t in r[0]] for r in results] == [[t.text for t in d] for d in offline]
    got_scores = [t.score for r in results for t in r[0]]
    assert got_scores == pytest.approx([t.score for d in offline for t in d], abs=1e-4)
    assert steps[0].sentences == 8  # all eight documents started in one step
    assert sum(s.finished for s in steps) == 15  # every sentence finished exactly once


def test_a_request_joins_a_running_search_without_waiting_for_it(model: ServedModel) -> None:
    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=8, max_wait_ms=0, on_batch=steps.append)
    long = batcher.submit(job(model, ["look at that cow ."] * 200))
    while len(steps) < 5:
        time.sleep(0.005)
    short = batcher.submit(job(model, ["look at that dog ."]))
    short.future.result(timeout=30)
    assert not long.future.done()  # the short request finished while the long document was in flight
    assert max(s.sentences for s in steps) == 2  # ... because it shared the long one's steps
    long.cancel()
    batcher.stop()


def test_max_batch_size_caps_live_sentences(model: ServedModel) -> None:
    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=3, max_wait_ms=2000, on_batch=steps.append)
    jobs = [batcher.submit(job(model, ["look at that cow ."])) for _ in range(7)]
    for j in jobs:
        j.future.result(timeout=30)
    batcher.stop()
    assert max(s.sentences for s in steps) == 3 and sum(s.finished for s in steps) == 7


def test_a_lone_new_request_waits_for_company_but_a_continuing_one_does_not(model: ServedModel) -> None:
    batcher = Batcher(max_batch_size=8, max_wait_ms=60_000)
    waiting = batcher.submit(job(model, ["look at that cow ."]))
    time.sleep(0.3)
    assert not waiting.future.done()  # up to a minute for company
    continuing = batcher.submit(job(model, ["it is very cute ."], continuing=True))
    continuing.future.result(timeout=10)  # runs at once, taking the waiting request along
    assert waiting.future.done()
    batcher.stop()


def test_stop_finishes_queued_work(model: ServedModel) -> None:
    batcher = Batcher(max_batch_size=8, max_wait_ms=60_000)
    pending = batcher.submit(job(model, ["look at that cow .", "it is very old ."]))
    batcher.stop()
    assert [t.text for t in pending.future.result(timeout=0)[0]][0].startswith("mira")
    with pytest.raises(RequestError) as info:
        batcher.submit(job(model, ["a ."]))
    assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_full_queue_is_resource_exhausted(model: ServedModel) -> None:
    batcher = Batcher(max_batch_size=8, max_wait_ms=60_000, max_queue=2)
    batcher.submit(job(model, ["a ."]))
    batcher.submit(job(model, ["b ."]))
    with pytest.raises(RequestError) as info:
        batcher.submit(job(model, ["c ."]))
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    batcher.stop()


def test_cancelled_and_expired_jobs_are_dropped_unrun(model: ServedModel) -> None:
    drops: list[str] = []
    batches: list[BatchStats] = []
    batcher = Batcher(max_batch_size=8, max_wait_ms=300, on_batch=batches.append, on_drop=drops.append)
    cancelled = batcher.submit(job(model, ["look at that cow ."]))
    expired = batcher.submit(job(model, ["look at that dog ."], deadline=time.monotonic() + 0.05))
    cancelled.cancel()  # both before the 300 ms wait for company is over
    for j, code in ((cancelled, grpc.StatusCode.CANCELLED), (expired, grpc.StatusCode.DEADLINE_EXCEEDED)):
        with pytest.raises(RequestError) as info:
            j.future.result(timeout=10)
        assert info.value.code == code
    batcher.stop()
    assert sorted(drops) == ["cancelled", "deadline"]
    assert batches == [] and batcher.depth == 0


def test_a_document_cancelled_midway_stops_running(model: ServedModel) -> None:
    batches: list[BatchStats] = []
    batcher = Batcher(max_batch_size=8, max_wait_ms=0, on_batch=batches.append)
    long = batcher.submit(job(model, ["look at that cow ."] * 400))
    while not batches:
        time.sleep(0.01)
    long.cancel()
    with pytest.raises(RequestError):
        long.future.result(timeout=30)
    batcher.stop()
    assert sum(b.finished for b in batches) < 400 and batcher.depth == 0


def test_a_failing_batch_fails_its_jobs_and_the_worker_survives(model: ServedModel) -> None:
    batcher = Batcher(max_batch_size=8, max_wait_ms=0)
    wrong = DocState(LSTMState.zeros(1, 1, 7), LSTMState.zeros(1, 1, 7))  # hidden sizes the model lacks
    bad = batcher.submit(Job(model, ["a ."], wrong, model.translator.config.decode))
    with pytest.raises(RuntimeError):
        bad.future.result(timeout=10)
    good = batcher.submit(job(model, ["look at that cow ."]))
    assert good.future.result(timeout=10)[0][0].text.startswith("mira")
    batcher.stop()


def test_a_running_shortlist_search_rebuilds_its_set_over_the_live_sentences(
    model: ServedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sentence that has left stops widening the scored set: the next newcomer rebuilds it."""
    import dataclasses

    import torch

    from translator.shortlist import Shortlist

    translator = model.translator
    own = Shortlist(torch.zeros(0, dtype=torch.long), torch.arange(translator.tokenizer.vocab_size).unsqueeze(1))
    monkeypatch.setattr(translator.decoding, "shortlist", own)  # each source piece lists only itself
    decode = dataclasses.replace(translator.config.decode, shortlist=True)
    long = "look at that cow ."  # a document of 30 such sentences keeps the search running
    wide = "the book , the tree , the house , the table , the door and the star are old ."
    dog = "look at that dog ."
    needs = {s: set(own.ids(translator.tokenizer.encode_batch([s])).tolist()) for s in (long, wide, dog)}
    jobs: dict[str, Job] = {}
    scored: list[tuple[set[str], list[int] | None]] = []  # (jobs live, scored ids) per step of the first search
    first: list[object] = []  # the search `long` started: the one observed

    def between_steps(stats: BatchStats) -> None:  # runs in the worker: newcomers join at the next step
        [running] = batcher._running.values()
        first[:] = first or [running.search]
        if running.search is not first[0]:
            return
        ids = running.search.shortlist.ids
        live = {s for s, j in jobs.items() if not j.future.done()}
        scored.append((live, None if ids is None else ids.tolist()))
        if "wide" not in jobs:
            jobs["wide"] = batcher.submit(Job(model, [wide], None, decode))
        elif jobs["wide"].future.done() and "dog" not in jobs:
            jobs["dog"] = batcher.submit(Job(model, [dog], None, decode))

    batcher = Batcher(max_batch_size=4, max_wait_ms=0, on_batch=between_steps)
    jobs["long"] = Job(model, [long] * 30, None, decode)  # in `jobs` before the first step can look
    batcher.submit(jobs["long"])
    jobs["long"].future.result(timeout=60)
    batcher.stop()  # `wide` and `dog` joined (or not) while `long` ran; stop finishes them
    with_wide = [ids for live, ids in scored if live == {"long", "wide"}]
    with_dog = [ids for live, ids in scored if live == {"long", "dog"}]
    assert with_wide and with_dog, "the newcomers must have joined the long document's running search"
    assert all(ids == sorted(needs[long] | needs[wide]) for ids in with_wide[1:])  # the union while both run
    assert with_dog[-1] == sorted(needs[long] | needs[dog])  # `wide` left: rebuilt without its pieces


def poisoned_context(model: ServedModel) -> DocState:
    """A NaN decoder state (what +-3e38 became inside the model, issue 15): every score of its search is NaN."""
    import torch

    empty = model.translator.empty_doc_state(1)
    assert empty is not None
    h = torch.full_like(empty.decoder.h, float("nan"))
    return DocState(empty.encoder, LSTMState(h, empty.decoder.c), empty.memory)


def test_a_request_whose_scores_go_non_finite_fails_alone(model: ServedModel) -> None:
    """Headline of issue 15: it used to fail every request in its search (IndexError) and hang itself."""
    batcher = Batcher(max_batch_size=4, max_wait_ms=2000)  # all four admitted into one search
    doc = ["look at that cow .", "it is very old ."] * 3
    benign = [batcher.submit(job(model, doc)) for _ in range(3)]
    forged = batcher.submit(Job(model, ["it is very cute ."], poisoned_context(model), model.translator.config.decode))
    with pytest.raises(RequestError) as info:
        forged.future.result(timeout=30)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT and "non-finite" in info.value.message
    for j in benign:
        assert [t.text for t in j.future.result(timeout=30)[0]][0].startswith("mira")
    batcher.stop()
    assert batcher.depth == 0


def test_a_job_that_cannot_start_fails_alone_in_its_admission_group(model: ServedModel) -> None:
    batcher = Batcher(max_batch_size=2, max_wait_ms=2000)  # admitted together, encoded as one group
    wrong = DocState(LSTMState.zeros(1, 1, 7), LSTMState.zeros(1, 1, 7))  # hidden sizes the model lacks
    bad = batcher.submit(Job(model, ["a ."], wrong, model.translator.config.decode))
    good = batcher.submit(job(model, ["look at that cow ."]))
    with pytest.raises(RuntimeError):
        bad.future.result(timeout=10)
    assert good.future.result(timeout=10)[0][0].text.startswith("mira")
    batcher.stop()
    assert batcher.depth == 0


class WorkerKilled(BaseException):
    """Not an Exception: nothing in the worker's loop catches it, so the worker thread ends."""


def test_a_dead_worker_fails_its_requests_refuses_new_ones_and_says_so(model: ServedModel) -> None:
    deaths: list[bool] = []

    def kill(stats: BatchStats) -> None:
        raise WorkerKilled

    batcher = Batcher(max_batch_size=8, max_wait_ms=0, on_batch=kill, on_death=lambda: deaths.append(True))
    running = batcher.submit(job(model, ["look at that cow ."] * 3))
    with pytest.raises(RequestError) as info:
        running.future.result(timeout=10)
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    assert deaths == [True] and not batcher.alive and batcher.depth == 0
    with pytest.raises(RequestError) as info:
        batcher.submit(job(model, ["a ."]))
    assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_a_request_whose_decoding_step_raises_fails_alone(model: ServedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model's step fails whenever one request's source is in the batch: only that request may fail."""
    translator = model.translator

    def source_length(sentence: str) -> int:
        pieces = translator.tokenizer.encode_batch([sentence])
        return int(translator.decoding.prepare(pieces, None, translator.config.decode).enc.mask.sum())

    poison, doc = "the book , the tree , the house and the door are old .", ["look at that cow .", "it is very old ."]
    target = source_length(poison)
    assert target not in {source_length(s) for s in doc}
    expected = [t.text for t in translator.translate_documents([doc * 2])[0]]
    original = translator.model.step

    def step(prev: object, state: object, enc: Any, output: object = None) -> object:
        if bool((enc.mask.sum(1) == target).any()):
            raise RuntimeError("the poisoned request's fault")
        return original(prev, state, enc, output)  # type: ignore[arg-type]

    monkeypatch.setattr(translator.model, "step", step)
    batcher = Batcher(max_batch_size=4, max_wait_ms=2000)  # all four start in one search
    benign = [batcher.submit(job(model, doc * 2)) for _ in range(3)]
    bad = batcher.submit(job(model, [poison]))
    with pytest.raises(RuntimeError, match="poisoned"):
        bad.future.result(timeout=30)
    for j in benign:  # retried alone, from the sentence they were on: the same translations
        assert [t.text for t in j.future.result(timeout=30)[0]] == expected
    batcher.stop()
    assert batcher.depth == 0


# ---------------------------------------------------------------- fair sharing (issue 30)


def test_a_documents_next_sentence_does_not_overtake_requests_that_waited_longer(model: ServedModel) -> None:
    """It used to queue at the front: three one-sentence requests waited for all 40 sentences of a document."""
    started: list[BatchStats] = []
    batcher = Batcher(max_batch_size=1, max_wait_ms=0, on_batch=started.append)  # one sentence at a time
    long = batcher.submit(job(model, ["look at that cow ."] * 40, client="long"))
    deadline = time.monotonic() + 30
    while not started and time.monotonic() < deadline:
        time.sleep(0.005)
    seen: dict[str, int] = {}  # sentences of the document done when each short request completed
    shorts = [batcher.submit(job(model, ["look at that dog ."], client=c)) for c in "abc"]
    for name, short in zip("abc", shorts, strict=True):
        short.future.add_done_callback(lambda f, name=name: seen.setdefault(name, len(long.results)))
    for short in shorts:
        short.future.result(timeout=60)
    long.future.result(timeout=60)
    batcher.stop()
    assert max(seen.values()) <= 6, seen  # each waited for a sentence or two of the document, not for all 40


def test_work_is_counted_in_beam_rows(model: ServedModel) -> None:
    """Six beam-4 sentences are 24 rows: with 8 rows, two share a step, never six."""
    import dataclasses

    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=32, max_batch_rows=8, max_wait_ms=2000, on_batch=steps.append)
    beam4 = dataclasses.replace(model.translator.config.decode, beam_size=4)
    jobs = [batcher.submit(Job(model, ["look at that cow ."], None, beam4, client=str(i))) for i in range(6)]
    for j in jobs:
        j.future.result(timeout=60)
    batcher.stop()
    assert max(s.rows for s in steps) == 8 and max(s.sentences for s in steps) == 2
    assert sum(s.finished for s in steps) == 6


def test_requests_that_differ_only_in_n_best_share_one_search(model: ServedModel) -> None:
    """n-best only says how many finished hypotheses to keep: it used to split the search (and the steps)."""
    import dataclasses

    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=8, max_wait_ms=2000, on_batch=steps.append)
    base = dataclasses.replace(model.translator.config.decode, beam_size=4)
    one = batcher.submit(Job(model, ["look at that cow ."], None, base, client="a"))
    four = batcher.submit(Job(model, ["look at that cow ."], None, dataclasses.replace(base, n_best=4), client="b"))
    [best], _ = one.future.result(timeout=60)
    [listed], _ = four.future.result(timeout=60)
    batcher.stop()
    assert steps[0].sentences == 2  # one search
    assert best.alternatives == [] and len(listed.alternatives) == 3
    assert (listed.text, listed.score) == (best.text, pytest.approx(best.score, abs=1e-5))


def test_a_request_for_alignments_gets_them_and_its_neighbours_do_not(model: ServedModel) -> None:
    """Alignments are a search setting (its steps keep each piece's strongest attention): requests with and
    without them run concurrently in searches of their own, and each gets what it asked for, no more."""
    import dataclasses

    batcher = Batcher(max_batch_size=8, max_wait_ms=2000)
    base = dataclasses.replace(model.translator.config.decode, beam_size=3, n_best=2)
    aligned = dataclasses.replace(base, alignment=True)
    doc = ["look at that cow .", "it is very cute ."]
    plain = batcher.submit(Job(model, doc, None, base, client="a"))
    asked = batcher.submit(Job(model, doc, None, aligned, client="b"))
    assert plain.key != asked.key
    without, _ = plain.future.result(timeout=60)
    with_links, _ = asked.future.result(timeout=60)
    batcher.stop()
    offline = model.translator.translate_documents([doc], decode=aligned)[0]
    assert [t.text for t in without] == [t.text for t in with_links] == [t.text for t in offline]
    assert all(t.alignment == [] and t.alternative_alignments == [] for t in without)
    assert [t.alignment for t in with_links] == [t.alignment for t in offline]
    assert [t.alternative_alignments for t in with_links] == [t.alternative_alignments for t in offline]
    assert with_links[0].alignment and all(len(t.alternative_alignments) == 1 for t in with_links)


def test_a_new_one_sentence_request_starts_within_a_few_steps_whatever_else_runs(model: ServedModel) -> None:
    """Eight long documents hold every row: a newcomer starts from the reserve, not after a sentence frees one."""
    from server.batcher import ADMIT_AFTER_STEPS

    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=32, max_batch_rows=8, max_wait_ms=2000, on_batch=steps.append)
    docs = [batcher.submit(job(model, ["look at that cow ."] * 30, client=f"doc{i}")) for i in range(8)]
    deadline = time.monotonic() + 30
    while len(steps) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    newcomer = batcher.submit(job(model, ["look at that dog ."], client="new"))
    newcomer.future.result(timeout=60)
    assert newcomer.started_step - newcomer.enqueued_step <= ADMIT_AFTER_STEPS + 1
    assert not all(d.future.done() for d in docs)
    for d in docs:
        d.cancel()
    batcher.stop()


def test_a_wide_request_is_not_starved_by_a_stream_of_narrow_ones(model: ServedModel) -> None:
    """Rows that free up are held for the most deserving waiting sentence, however wide it is."""
    import dataclasses

    batcher = Batcher(max_batch_size=32, max_batch_rows=8, max_wait_ms=0)
    narrow = [batcher.submit(job(model, ["look at that cow ."] * 20, client=f"n{i}")) for i in range(8)]
    wide = dataclasses.replace(model.translator.config.decode, beam_size=8)
    big = batcher.submit(Job(model, ["look at that dog ."], None, wide, client="wide"))
    big.future.result(timeout=120)
    assert not all(n.future.done() for n in narrow)  # it ran while the narrow documents still had sentences
    batcher.stop()


def test_each_client_may_have_at_most_max_client_requests(model: ServedModel) -> None:
    batcher = Batcher(max_batch_size=8, max_wait_ms=60_000, max_client_requests=2)
    batcher.submit(job(model, ["a ."], client="x"))
    batcher.submit(job(model, ["b ."], client="x"))
    with pytest.raises(RequestError) as info:
        batcher.submit(job(model, ["c ."], client="x"))
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "this client" in info.value.message
    batcher.submit(job(model, ["d ."], client="y"))  # another client is not affected
    batcher.stop()
    assert batcher.depth == 0


def test_without_shortlist_a_translation_does_not_depend_on_what_shares_its_search(model: ServedModel) -> None:
    """The isolation that holds (docs/serving.md): alone or beside other clients' documents, the same output."""
    doc = ["look at that cow .", "it is very old ."]
    alone = Batcher(max_batch_size=8, max_wait_ms=0)
    [expected, _] = alone.submit(job(model, doc)).future.result(timeout=60)
    alone.stop()
    shared = Batcher(max_batch_size=8, max_wait_ms=2000)
    others = [list(d.sources) for d in make_documents(6, seed=11)]
    jobs = [shared.submit(job(model, o, client=f"o{i}")) for i, o in enumerate(others)]
    mine = shared.submit(job(model, doc, client="me"))
    [got, _] = mine.future.result(timeout=60)
    for j in jobs:
        j.future.result(timeout=60)
    shared.stop()
    assert [t.text for t in got] == [t.text for t in expected]
    assert [t.score for t in got] == pytest.approx([t.score for t in expected], abs=1e-4)


def test_a_narrow_search_is_stepped_as_often_as_its_clients_share_allows(model: ServedModel) -> None:
    """Searches used to be stepped in turn: each greedy step waited for a beam-8 step. By rows served, a
    1-row sentence gets several steps per step of an 8-row one."""
    import dataclasses

    steps: list[BatchStats] = []
    batcher = Batcher(max_batch_size=8, max_wait_ms=0, on_batch=steps.append)
    beam8 = dataclasses.replace(model.translator.config.decode, beam_size=8)
    wide = batcher.submit(Job(model, ["look at that cow ."] * 50, None, beam8, client="wide"))
    deadline = time.monotonic() + 30
    while len(steps) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    narrow = batcher.submit(job(model, ["look at that dog .", "it is very old ."], client="narrow"))
    narrow.future.result(timeout=60)
    wide.cancel()
    batcher.stop()
    rows = [s.rows for s in steps]
    first, last = rows.index(1), len(rows) - 1 - rows[::-1].index(1)
    between = rows[first : last + 1]
    assert between.count(8) * 2 <= between.count(1), between


def test_a_light_client_back_from_idle_runs_ahead_of_sustained_heavy_work(model: ServedModel) -> None:
    """Taking turns by rows served, a short greedy request waited for a beam-8 step every few of its own
    (issue 30's bystander, 9.8x its quiet p99 under attack). With the idle credit it runs straight through,
    and a heavy client gains nothing by pausing: its count stays above the least-served active one's."""
    import dataclasses

    def run(idle_credit: int) -> list[int]:
        steps: list[BatchStats] = []
        batcher = Batcher(max_batch_size=8, max_wait_ms=0, on_batch=steps.append, idle_credit=idle_credit)
        beam8 = dataclasses.replace(model.translator.config.decode, beam_size=8)
        wide = batcher.submit(Job(model, ["look at that cow ."] * 50, None, beam8, client="wide"))
        deadline = time.monotonic() + 30
        while len(steps) < 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        light = batcher.submit(job(model, ["look at that dog .", "it is very old .", "look at that cow ."], client="x"))
        light.future.result(timeout=60)
        wide.cancel()
        batcher.stop()
        rows = [s.rows for s in steps]
        first, last = rows.index(1), len(rows) - 1 - rows[::-1].index(1)
        return rows[first : last + 1]

    turns, credit = run(idle_credit=0), run(idle_credit=512)
    assert turns.count(8) >= 1, turns  # turns: the light request waited for wide steps
    assert credit.count(8) == 0, credit  # credit: it ran straight through



def test_a_job_records_where_its_time_went(model: ServedModel) -> None:
    """The access log's queue_ms / steps / other_steps: own steps are the steps its sentences were in,
    other steps those of another search meanwhile (none when it ran alone)."""
    import dataclasses

    steps: list[BatchStats] = []
    alone = Batcher(max_batch_size=8, max_wait_ms=0, on_batch=steps.append)
    lone = alone.submit(job(model, ["look at that cow .", "it is very old ."]))
    lone.future.result(timeout=60)
    alone.stop()
    assert lone.steps == len(steps) and lone.other_steps == 0 and lone.queued_s >= 0

    shared = Batcher(max_batch_size=8, max_wait_ms=0)
    beam2 = dataclasses.replace(model.translator.config.decode, beam_size=2)
    wide = shared.submit(Job(model, ["look at that cow ."] * 2000, None, beam2, client="wide"))
    deadline = time.monotonic() + 30
    while not wide.steps and time.monotonic() < deadline:
        time.sleep(0.005)
    narrow = shared.submit(job(model, ["look at that dog ."], client="narrow"))
    narrow.future.result(timeout=60)
    wide.cancel()
    shared.stop()
    assert narrow.steps > 0 and wide.steps > 0 and wide.other_steps >= narrow.steps
