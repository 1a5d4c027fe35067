"""The model of AWS's published backoff simulator (Brooker, "Exponential Backoff And Jitter",
AWS Architecture Blog, 2015), re-implemented to give reference figures for
scenarios/backoff-jitter.yaml.

The model: N clients start together; each reads the version of one row, then writes it with that
version (optimistic concurrency); a write fails when another write landed since the read; a client
that fails backs off and starts over; it stops after its one successful write. Every network trip
takes |normal(10 ms, 2 ms)|; backoff base 5 ms, cap 2 s, delay for the n-th failure from
min(cap, base·2ⁿ). Reported: write calls per client and the time until the last client is done,
averaged over trials.

    python bench/brooker_reference.py [--clients 50] [--trials 100] [--sd 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import statistics
from collections.abc import Callable

Backoff = Callable[[int, random.Random, list[float]], float]


def _expo(n: int, base: float, cap: float) -> float:
    return min(cap, base * 2**n)


def backoffs(base: float, cap: float) -> dict[str, Backoff]:
    def decorrelated(n: int, rng: random.Random, state: list[float]) -> float:
        state[0] = min(cap, rng.uniform(base, state[0] * 3))
        return state[0]

    return {
        "no-jitter": lambda n, rng, state: _expo(n, base, cap),
        "full-jitter": lambda n, rng, state: rng.uniform(0, _expo(n, base, cap)),
        "equal-jitter": lambda n, rng, state: (
            _expo(n, base, cap) / 2 + rng.uniform(0, _expo(n, base, cap) / 2)
        ),
        "decorrelated": decorrelated,
    }


def simulate(
    clients: int, backoff: Backoff, rng: random.Random, *, mean: float, sd: float, base: float
) -> tuple[int, float]:
    """One trial: (write calls, completion time in seconds)."""

    def trip() -> float:
        return abs(rng.normalvariate(mean, sd))

    version = 0
    calls = 0
    order = itertools.count()  # ties in time resolve in scheduling order
    failures = [0] * clients
    state = [[base] for _ in range(clients)]
    # events: (time, order, kind, client, payload); kinds: read at server, reply with version,
    # write at server, write result
    queue: list[tuple[float, int, str, int, int]] = [
        (trip(), next(order), "read", c, 0) for c in range(clients)
    ]
    heapq.heapify(queue)
    now = 0.0
    while queue:
        now, _, kind, client, payload = heapq.heappop(queue)
        if kind == "read":
            heapq.heappush(queue, (now + trip(), next(order), "version", client, version))
        elif kind == "version":
            heapq.heappush(queue, (now + trip(), next(order), "write", client, payload))
        elif kind == "write":
            calls += 1
            ok = payload == version
            if ok:
                version += 1
            heapq.heappush(queue, (now + trip(), next(order), "result", client, int(ok)))
        elif not payload:  # a failed write: back off, then read again
            failures[client] += 1
            delay = backoff(failures[client], rng, state[client])
            heapq.heappush(queue, (now + trip() + delay, next(order), "read", client, 0))
    return calls, now


def _mean_ci(values: list[float], digits: int) -> str:
    """Mean ± half-width of a normal 95 % interval over the trials."""
    mean = statistics.fmean(values)
    half = 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--sd", type=float, default=2.0, help="network sd per trip, ms")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| clients | backoff | write calls per client | completion (s) |")
    print("|---:|---|---:|---:|")
    for clients in args.clients:
        for name, backoff in backoffs(0.005, 2.0).items():
            rng = random.Random(f"{args.seed}:{clients}:{name}")
            runs = [
                simulate(clients, backoff, rng, mean=0.010, sd=args.sd / 1000, base=0.005)
                for _ in range(args.trials)
            ]
            calls = [c / clients for c, _ in runs]
            done = [t for _, t in runs]
            print(f"| {clients} | {name} | {_mean_ci(calls, 1)} | {_mean_ci(done, 2)} |")


if __name__ == "__main__":
    main()
