"""The search behind every ``searched`` (and every searched ``fails``) verdict: vectorised, then targeted, then
local, then confirmed with rigorous rounding bounds.

A *domain* is a kind of case (k-CBNAE codes with a scale beta for Prop. 2; linear k-CAEs for Prop. 1; matrices
for Eq. 2 and Algorithm 1) with *families* that aim at the edges of the hypotheses. A *relation* of the domain is
``lhs REL rhs``, computed for a whole batch of cases at once. For one domain and config, :func:`explore` runs
once (cached) and evaluates every relation of the domain on every case:

1. bulk: ``config.cases`` cases drawn family by family in vectorised batches (numpy, one call per batch, not
   per case);
2. targeted: ``config.examples`` Hypothesis examples that draw the family and the sizes, steered by
   ``hypothesis.target`` with one label per relation towards each relation's smallest margin;
3. local: from each relation's worst cases, ``config.refine`` rounds of batched random perturbation with a
   shrinking step (a hill climb on the margin);
4. confirmation: the worst cases with a negative float margin are evaluated again in running-error arithmetic
   (:class:`cae_theory.rounding.Bounded`); a violation counts only when it exceeds the rigorous rounding bound
   of both sides (then the exact values violate the relation). Negative float margins within the bound are
   counted as ``undecided`` and reported, never as violations.

Margins are scale-free slacks: (rhs - lhs) / scale for ``<``/``<=`` (lhs - rhs for ``>``/``>=``,
-|lhs - rhs| for ``=``), scale = max(|lhs|, |rhs|) unless the relation gives one (e.g. C_c for quantities
homogeneous in W); > 0 holds with room, < 0 is violated in floats.
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from cae_theory.ledger.claims import CheckConfig
from cae_theory.rounding import INFLATE, Bounded

RELATIONS = ("<", "<=", ">", ">=", "=")


# --- cases ------------------------------------------------------------------------------------------------

@dataclass
class Cases:
    """A batch of cases of one shape: named arrays, each with the batch on axis 0, and their family."""
    arrays: dict[str, np.ndarray]
    family: str

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def take(self, idx) -> "Cases":
        idx = np.atleast_1d(np.asarray(idx))
        return Cases({k: v[idx] for k, v in self.arrays.items()}, self.family)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def lifted(self, lift: Callable) -> dict[str, Any]:
        """The arrays through ``lift`` (``np.asarray`` for floats, ``Bounded.exact`` for rounding bounds)."""
        return {k: lift(v) for k, v in self.arrays.items()}


@dataclass(frozen=True)
class Family:
    """``sizes``: Hypothesis strategy of the size parameters (a dict); ``sample_sizes(rng)``: the same for the bulk
    phase; ``draw(rng, n, **sizes) -> Cases`` builds up to n cases (never filtered by chance: a family constructs
    cases inside the hypotheses; the few that miss them are dropped and counted)."""
    name: str
    sample_sizes: Callable[[np.random.Generator], dict[str, int]]
    sizes: st.SearchStrategy
    draw: Callable[..., Cases]
    share: float = 1.0


@dataclass(frozen=True)
class Domain:
    """A kind of case. ``derive(arrays, lift)`` computes what the relations share (e.g. Prop. 2's construction)
    from lifted arrays; ``perturb(cases, rng, step) -> Cases`` makes local moves; ``witness(cases) -> dict`` is the
    plain JSON of a single case; ``cells(sizes)``: the number of floats of one case (sets the batch length)."""
    name: str
    families: tuple[Family, ...]
    derive: Callable[[dict[str, Any], Callable], Any]
    perturb: Callable[[Cases, np.random.Generator, float], Cases]
    witness: Callable[[Cases], dict[str, Any]]
    cells: Callable[[dict[str, int]], int]
    description: str = ""


@dataclass(frozen=True)
class Sides:
    """Both sides of a relation for a batch. ``lhs``, ``rhs``: arrays (or Bounded) whose axis 0 is the batch; any
    further axes (arms, samples, coordinates) are all part of the relation (the worst entry counts); a tuple of
    such arrays is several parts of one relation (e.g. a lower and an upper bound). ``applies``: ``(N,)`` cases
    the relation is about (others skipped); ``scale``: a floor of the divisor of the margin, max(|lhs|, |rhs|, scale)
    (e.g. C_c for quantities homogeneous in W, so that nearly vanishing sides do not look tight)."""
    lhs: Any
    rhs: Any
    scale: Any = None
    applies: Any = None

    def parts(self) -> list[tuple[Any, Any, Any]]:
        if isinstance(self.lhs, tuple):
            rhs = self.rhs if isinstance(self.rhs, tuple) else (self.rhs,) * len(self.lhs)
            scale = self.scale if isinstance(self.scale, tuple) else (self.scale,) * len(self.lhs)
            return list(zip(self.lhs, rhs, scale))
        return [(self.lhs, self.rhs, self.scale)]


@dataclass(frozen=True)
class Relation:
    """``lhs REL rhs`` over a domain: ``sides(arrays, derived) -> Sides`` must be written with the operations of
    :mod:`cae_theory.arith`, so that it runs on floats (search) and on Bounded numbers (confirmation)."""
    id: str
    domain: Domain
    relation: str
    sides: Callable[[dict[str, Any], Any], Sides]
    steer: bool = True

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.relation!r}")


def _value(x) -> np.ndarray:
    return x.value if isinstance(x, Bounded) else np.asarray(x, dtype=np.float64)


def _per_case(a: np.ndarray, n: int) -> np.ndarray:
    """(N, ...) -> (N, rest): one row per case (a scalar broadcast to every case)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return np.full((n, 1), float(a))
    return a.reshape(a.shape[0], -1)


def left_aligned(*arrays):
    """Broadcast arrays whose leading axes agree (the batch first): trailing axes are added to the shorter ones;
    0-d arrays (one value for every case) broadcast as usual."""
    nd = max(np.ndim(a) for a in arrays)
    return np.broadcast_arrays(*[a if np.ndim(a) == 0 else np.reshape(a, np.shape(a) + (1,) * (nd - np.ndim(a)))
                                 for a in arrays])


def _part_margins(lhs, rhs, scale, relation: str) -> np.ndarray:
    if scale is None:
        lhs, rhs = left_aligned(_value(lhs), _value(rhs))
        sc = np.maximum(np.abs(lhs), np.abs(rhs))
    else:
        lhs, rhs, sc = left_aligned(_value(lhs), _value(rhs), _value(scale))
        sc = np.maximum(np.maximum(np.abs(lhs), np.abs(rhs)), np.abs(sc))
    slack = {"<": rhs - lhs, "<=": rhs - lhs, ">": lhs - rhs, ">=": lhs - rhs, "=": -np.abs(lhs - rhs)}[relation]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(slack == 0, 0.0, slack / sc)


def margins(sides: Sides, relation: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale-free margins per case ``(N,)`` (the worst entry of every part; +inf where the relation does not
    apply) and, per case, the flat index (part, entry) of that worst entry."""
    ms = [_per_case(_part_margins(l, r, sc, relation), n) for l, r, sc in sides.parts()]
    full = np.concatenate(ms, axis=1)
    where_ = np.argmin(np.where(np.isnan(full), -np.inf, full), axis=1)
    m = full[np.arange(n), where_]
    if sides.applies is not None:
        m = np.where(np.asarray(sides.applies, dtype=bool).reshape(n), m, np.inf)
    return m, where_


def _flat_parts(sides: Sides, n: int) -> tuple[Bounded, Bounded]:
    """All parts' entries, flattened per case: (N, E) Bounded lhs and rhs."""
    ls, rs = [], []
    for l, r, _ in sides.parts():
        lb = l if isinstance(l, Bounded) else Bounded.exact(l)
        rb = r if isinstance(r, Bounded) else Bounded.exact(r)
        lv, le, rv, re = left_aligned(lb.value, lb.error, rb.value, rb.error)
        if lv.ndim == 0:
            lv, le, rv, re = (np.full(n, float(a)) for a in (lv, le, rv, re))
        lv, le, rv, re = (a.reshape(n, -1) for a in (lv, le, rv, re))
        ls.append((lv, le))
        rs.append((rv, re))
    return (Bounded(np.concatenate([v for v, _ in ls], 1), np.concatenate([e for _, e in ls], 1)),
            Bounded(np.concatenate([v for v, _ in rs], 1), np.concatenate([e for _, e in rs], 1)))


def certified_violation(sides: Sides, relation: str, n: int) -> tuple[np.ndarray, np.ndarray, Bounded, Bounded]:
    """Where the EXACT values violate ``lhs REL rhs``, decided from Bounded sides: the float difference exceeds
    the sum of the rigorous rounding bounds (so its sign is the exact sign). Returns (violated per case (N,),
    flat index of the violating entry, flat lhs, flat rhs)."""
    lhs, rhs = _flat_parts(sides, n)
    d = lhs.value - rhs.value
    tol = (lhs.error + rhs.error) * INFLATE
    bad = {"<": d >= tol, "<=": d > tol, ">": -d >= tol, ">=": -d > tol, "=": np.abs(d) > tol}[relation]
    if sides.applies is not None:
        bad = bad & np.asarray(sides.applies, dtype=bool).reshape(n, 1)
    return bad.any(axis=1), np.argmax(bad, axis=1), lhs, rhs


# --- the exploration ----------------------------------------------------------------------------------------

KEEP = 6  # worst cases kept per relation


@dataclass
class Track:
    """What the exploration found for one relation."""
    relation: Relation
    worst: list[tuple[float, int, Cases]] = field(default_factory=list)   # (margin, tiebreak, one case)
    cases: int = 0          # cases the relation was evaluated on (where it applies)
    bulk: int = 0
    targeted: int = 0
    refined: int = 0
    error: str = ""         # the first NaN margin: a bug in the relation's sides (reported by its claim alone)

    def offer(self, m: np.ndarray, batch: Cases, counter) -> None:
        finite = np.isfinite(m)
        self.cases += int(finite.sum())
        if not finite.any():
            return
        k = min(KEEP, int(finite.sum()))
        idx = np.argpartition(np.where(finite, m, np.inf), k - 1)[:k]
        for i in idx:
            if len(self.worst) < KEEP or m[i] < self.worst[-1][0]:
                self.worst.append((float(m[i]), next(counter), batch.take([i])))
                self.worst.sort(key=lambda t: t[:2])
                del self.worst[KEEP:]

    @property
    def worst_margin(self) -> float:
        return self.worst[0][0] if self.worst else math.inf


@dataclass
class Exploration:
    """Every relation's track, and the breadth of the search: cases per family, ranges of the sizes."""
    tracks: dict[str, Track]
    families: dict[str, int]
    ranges: dict[str, list[int]]
    dropped: int
    seconds: float


_RELATIONS: dict[str, list[Relation]] = {}


def register(relation: Relation) -> Relation:
    """Add a relation to its domain's exploration (ids unique per domain)."""
    known = _RELATIONS.setdefault(relation.domain.name, [])
    if any(r.id == relation.id for r in known):
        raise ValueError(f"relation {relation.id!r} is already registered in domain {relation.domain.name!r}")
    known.append(relation)
    return relation


def relations_of(domain: Domain) -> list[Relation]:
    """The domain's relations, sorted by id: a search must not depend on the order in which modules were
    imported (which registers the relations)."""
    return sorted(_RELATIONS.get(domain.name, []), key=lambda r: r.id)


@contextlib.contextmanager
def _without_local_constants():
    """Hypothesis (>= 6.131) mixes literal constants from every local module in ``sys.modules`` into its draws,
    so the same seed would explore differently depending on what happens to be imported. Searches must be a
    function of (code, seed) alone: the local pool is emptied for the duration (a private hook; if a release
    removes it, searches still run, with that process-dependence back)."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if original is None or cache is None:  # pragma: no cover
        yield
        return
    providers._get_local_constants = lambda: providers.Constants()
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.cache.clear()


def _evaluate(relations: Sequence[Relation], tracks: dict[str, Track], batch: Cases, counter,
              phase: str, domain: Domain) -> dict[str, np.ndarray]:
    arrays = batch.lifted(np.asarray)
    with np.errstate(all="ignore"):
        derived = domain.derive(arrays, np.asarray)
        out = {}
        for r in relations:
            t = tracks[r.id]
            if t.error:
                continue
            m, _ = margins(r.sides(arrays, derived), r.relation, len(batch))
            if np.isnan(m).any():
                i = int(np.argmax(np.isnan(m)))
                t.error = (f"relation {r.id} gave a NaN margin on a {batch.family} case (a bug in its sides): "
                           f"{domain.witness(batch.take([i]))}")
                continue
            before = t.cases
            t.offer(m, batch, counter)
            setattr(t, phase, getattr(t, phase) + t.cases - before)
            out[r.id] = m
    return out


@functools.lru_cache(maxsize=16)
def explore(domain: Domain, config: CheckConfig) -> Exploration:
    """Run the four phases for every registered relation of ``domain`` (once per domain and config)."""
    t0 = time.perf_counter()
    relations = relations_of(domain)
    tracks = {r.id: Track(r) for r in relations}
    counter = iter(range(10 ** 15))
    rng = np.random.default_rng([config.seed, _stable_hash(domain.name)])
    families: dict[str, int] = {}
    ranges: dict[str, list[int]] = {}
    dropped = 0

    def note(batch: Cases, sizes: dict[str, int], asked: int) -> None:
        nonlocal dropped
        families[batch.family] = families.get(batch.family, 0) + len(batch)
        dropped += asked - len(batch)
        for key, v in sizes.items():
            lo, hi = ranges.get(key, [v, v])
            ranges[key] = [min(lo, v), max(hi, v)]

    # 1. bulk: the families in parallel processes (config.workers), each with its own random stream, merged in
    #    family order: the result does not depend on the number of workers
    for part in _bulk_parts(domain, config):
        for name, count in part["families"].items():
            families[name] = families.get(name, 0) + count
        for key, (lo, hi) in part["ranges"].items():
            old = ranges.get(key, [lo, hi])
            ranges[key] = [min(old[0], lo), max(old[1], hi)]
        dropped += part["dropped"]
        for rid, (worst, cases, error) in part["tracks"].items():
            t = tracks[rid]
            t.error = t.error or error
            t.cases += cases
            t.bulk += cases
            for m, _, case in worst:
                t.worst.append((m, next(counter), case))
            t.worst.sort(key=lambda w: w[:2])
            del t.worst[KEEP:]

    # 2. targeted (Hypothesis)
    steering = [r for r in relations if r.steer]

    @settings(max_examples=max(1, config.examples), database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.target], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def targeted(data):
        fam = data.draw(st.sampled_from(domain.families))
        sizes = data.draw(fam.sizes)
        seed = data.draw(st.integers(0, 2 ** 32 - 1))
        batch = fam.draw(np.random.default_rng(seed), 1, **sizes)
        batch.family = fam.name
        if not len(batch):
            return
        note(batch, sizes, 1)
        ms = _evaluate(relations, tracks, batch, counter, "targeted", domain)
        for r in steering:
            if r.id not in ms:          # a relation in error
                continue
            m = float(ms[r.id][0])
            if math.isfinite(m):
                target(-m, label=r.id)

    if config.examples > 0 and relations:
        with _without_local_constants():
            hypothesis_seed(config.seed)(targeted)()

    # 3. local refinement from every relation's worst cases: the starts are grouped by shape, perturbed together
    #    with a shrinking step, and every relation is evaluated on every move (a move made for one relation can
    #    be the worst case of another)
    step = 0.3
    for _ in range(config.refine):
        starts: dict[tuple, dict[int, Cases]] = {}
        for t in tracks.values():
            for _, _, case in t.worst[:1]:
                starts.setdefault(_shape(case), {})[id(case)] = case
        for group in starts.values():
            cases = list(group.values())
            merged = Cases({k: np.concatenate([c[k] for c in cases]) for k in cases[0].arrays}, cases[0].family)
            batch = domain.perturb(merged, rng, step, 16)
            if len(batch):
                _evaluate(relations, tracks, batch, counter, "refined", domain)
        step = max(step * 0.75, 1e-6)
    return Exploration(tracks, families, ranges, dropped, time.perf_counter() - t0)


_DOMAINS: dict[str, Domain] = {}


def _bulk_family(name: str, config: CheckConfig, index: int) -> dict:
    """The bulk phase of one family of the domain ``name`` (in a forked worker process or in this one): its own
    random stream."""
    domain = _DOMAINS[name]
    fam = domain.families[index]
    relations = relations_of(domain)
    tracks = {r.id: Track(r) for r in relations}
    counter = iter(range(10 ** 15))
    rng = np.random.default_rng([config.seed, _stable_hash(domain.name), index])
    total = sum(f.share for f in domain.families)
    budget = int(round(config.cases * fam.share / total))
    out = {"families": {}, "ranges": {}, "dropped": 0}
    done = 0
    while done < budget:
        sizes = fam.sample_sizes(rng)
        n = int(min(budget - done, max(8, 400_000 // max(1, domain.cells(sizes)))))
        batch = fam.draw(rng, n, **sizes)
        batch.family = fam.name
        done += n
        out["dropped"] += n - len(batch)
        if not len(batch):
            continue
        out["families"][fam.name] = out["families"].get(fam.name, 0) + len(batch)
        for key, v in sizes.items():
            lo, hi = out["ranges"].get(key, [v, v])
            out["ranges"][key] = [min(lo, v), max(hi, v)]
        _evaluate(relations, tracks, batch, counter, "bulk", domain)
    out["tracks"] = {rid: (t.worst, t.cases, t.error) for rid, t in tracks.items()}
    return out


def _bulk_parts(domain: Domain, config: CheckConfig) -> list[dict]:
    indices = range(len(domain.families))
    _DOMAINS[domain.name] = domain
    if config.workers <= 1 or len(domain.families) < 2:
        return [_bulk_family(domain.name, config, i) for i in indices]
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(max_workers=config.workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_bulk_worker_start, initargs=(os.getpid(),)) as pool:
        return list(pool.map(functools.partial(_bulk_family, domain.name, config), indices))


def _bulk_worker_start(parent: int) -> None:
    """Start of a bulk worker process: Ctrl-C belongs to the parent alone (``cae verify`` then ends at once with
    one line, cae_cli.main), and on Linux the worker is killed when its parent ends (PR_SET_PDEATHSIG), so an
    interrupted run leaves no worker behind and nothing more on stderr."""
    import os
    import signal
    import sys
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)          # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:                                              # the parent ended before that
            os._exit(0)


def _shape(case: Cases) -> tuple:
    return tuple((k, v.shape[1:]) for k, v in sorted(case.arrays.items()))


def _stable_hash(text: str) -> int:
    return int.from_bytes(text.encode(), "little") % (2 ** 63)


# --- confirmation ------------------------------------------------------------------------------------------

@dataclass
class Confirmed:
    """The outcome of a relation's search: the worst float margin, the certified violation (if any) with its
    case and Bounded sides, and how many negative float margins stayed within rounding (undecided)."""
    worst_margin: float
    witness_case: Cases | None
    lhs: Bounded | None
    rhs: Bounded | None
    undecided: int
    exploration: Exploration
    track: Track


def confirm(relation: Relation, config: CheckConfig) -> Confirmed:
    """Explore the relation's domain (cached) and confirm its worst cases in running-error arithmetic."""
    ex = explore(relation.domain, config)
    track = ex.tracks[relation.id]
    if track.error:
        raise RuntimeError(track.error[:2000])
    undecided = 0
    for m, _, case in track.worst:
        if m >= 0:
            break
        arrays = case.lifted(Bounded.exact)
        with np.errstate(all="ignore"):
            sides = relation.sides(arrays, relation.domain.derive(arrays, Bounded.exact))
        bad, at, lhs, rhs = certified_violation(sides, relation.relation, 1)
        if bad[0]:
            return Confirmed(m, case, lhs[0, int(at[0])], rhs[0, int(at[0])], undecided, ex, track)
        undecided += 1
    return Confirmed(track.worst_margin, None, None, None, undecided, ex, track)


def search_details(c: Confirmed) -> dict[str, Any]:
    """The depth and breadth of a search, as plain JSON for the evidence."""
    t, ex = c.track, c.exploration
    return {"cases": t.cases, "bulk_cases": t.bulk, "hypothesis_cases": t.targeted, "refinement_cases": t.refined,
            "families": dict(sorted(ex.families.items())), "ranges": ex.ranges, "dropped_outside_hypotheses":
            ex.dropped, "worst_margin": c.worst_margin, "undecided_within_rounding": c.undecided,
            "domain_seconds": round(ex.seconds, 3)}


__all__ = ["Cases", "Confirmed", "Domain", "Exploration", "Family", "Relation", "Sides", "certified_violation",
           "confirm", "explore", "margins", "register", "relations_of", "search_details"]
