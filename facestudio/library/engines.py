"""Where the library's tasks run: in this process, in K spawned processes, or on Ray actors.

Every engine takes an iterable of :class:`~facestudio.library.worker.Task` and yields each
task's results in task order, with a bounded number of tasks in flight (two per worker), so
the coordinator decides the faces in position order however the work was spread. Each
worker loads the model once (:class:`~facestudio.library.worker.FaceWorker`).

* :class:`InlineEngine`: one worker in this process (tests, debugging).
* :class:`LocalEngine`: ``K`` processes started with ``spawn`` (no forked torch state).
* :class:`RayEngine`: ``K`` Ray actors (the optional extra ``facestudio[cluster]``; GPU actors where
  the cluster has GPUs, see :func:`gpus_per_actor`); joins
  ``address`` or starts a local cluster of ``num_cpus`` CPUs and stops it afterwards. A
  cluster that goes away mid-build raises :class:`EngineError` with one sentence.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator

from facestudio.errors import FacestudioError
from facestudio.library.catalog import FaceRow
from facestudio.library.worker import FaceWorker, Task, WorkerConfig

IN_FLIGHT_PER_WORKER = 2
MAX_WORKERS = 64
LOCAL_RAY_CPUS = 2
LIVENESS_CHECK_S = 10.0  # while waiting for a task, how often to check the cluster is still there


class EngineError(FacestudioError):
    """An engine that cannot start or that lost its workers; one sentence."""


class InlineEngine:
    """Runs the tasks one after the other in this process."""

    name = "inline"

    def __init__(self, config: WorkerConfig):
        self.worker = FaceWorker(config)

    def run(self, tasks: Iterable[Task]) -> Iterator[list[FaceRow]]:
        for task in tasks:
            yield self.worker.work(task)

    def close(self, abandon: bool = False) -> None:
        pass


_process_worker: FaceWorker | None = None


PARENT_CHECK_S = 0.2  # how often a spawned worker checks that its build is still alive


def _exit_with_parent(parent: int) -> None:
    """End this worker process as soon as the build that started it is gone (killed with
    SIGKILL, it cannot stop its pool), so that no orphan keeps writing into the library."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _start_process_worker(config: WorkerConfig) -> None:
    global _process_worker
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="facestudio-parent-watch",
                     daemon=True).start()
    _process_worker = FaceWorker(config)


def _work_in_process(task: Task) -> list[FaceRow]:
    return _process_worker.work(task)


def _ordered(submit, tasks: Iterable[Task], in_flight: int, wait) -> Iterator[list[FaceRow]]:
    """Keep ``in_flight`` tasks submitted; yield their results (``wait(handle)``) in order."""
    pending: collections.deque = collections.deque()
    for task in tasks:
        pending.append(submit(task))
        if len(pending) >= in_flight:
            yield wait(pending.popleft())
    while pending:
        yield wait(pending.popleft())


class LocalEngine:
    """``workers`` spawned processes, each with its own :class:`FaceWorker`."""

    name = "local"

    def __init__(self, config: WorkerConfig, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        self.workers = check_workers(workers)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_process_worker, initargs=(config,))

    def run(self, tasks: Iterable[Task]) -> Iterator[list[FaceRow]]:
        from concurrent.futures.process import BrokenProcessPool

        def wait(future):
            try:
                return future.result()
            except BrokenProcessPool:
                raise EngineError("a worker process of the library build died (out of memory, or killed); "
                                  "the library is kept: run the same command again to finish it") from None

        yield from _ordered(lambda t: self._pool.submit(_work_in_process, t), tasks,
                            IN_FLIGHT_PER_WORKER * self.workers, wait)

    def close(self, abandon: bool = False) -> None:
        """Stop the workers once their running tasks end, or with ``abandon`` (the build has
        every face it needs) at once: a task still running then is not waited for."""
        if abandon:
            terminate = getattr(self._pool, "terminate_workers", None)  # Python 3.14
            if terminate is not None:
                terminate()
            else:
                for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                    process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)  # the processes have ended when it returns


def check_workers(workers: int) -> int:
    if not 1 <= workers <= MAX_WORKERS:
        raise EngineError(f"--workers {workers} is outside 1 to {MAX_WORKERS}")
    return workers


def import_ray():
    try:
        import ray
    except ImportError:
        raise EngineError("the Ray engine needs Ray: pip install 'facestudio[cluster]' (or use --engine local)") from None
    return ray


def _package_root() -> str:
    """The folder holding the facestudio package, for Ray workers that start elsewhere."""
    return str(Path(__file__).resolve().parents[2])


class RayEngine:
    """``workers`` Ray actors, each holding a :class:`FaceWorker`."""

    name = "ray"

    def __init__(self, config: WorkerConfig, workers: int, address: str | None = None):
        ray = self.ray = import_ray()
        self.workers = check_workers(workers)
        self.address = address
        self._started = False
        path = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p)
        device = os.environ.get("FACESTUDIO_DEVICE", "auto")  # --device, as the local engine's workers get it
        runtime_env = {"env_vars": {"PYTHONPATH": path, "FACESTUDIO_DEVICE": device}}
        try:
            if address:
                ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, logging_level="ERROR")
            else:
                ray.init(num_cpus=LOCAL_RAY_CPUS, include_dashboard=False, runtime_env=runtime_env,
                         log_to_driver=False, logging_level="ERROR")
            self._started = True
            actor = ray.remote(num_cpus=1, num_gpus=gpus_per_actor(ray, device, self.workers))(FaceWorker)
            self._actors = [actor.remote(config) for _ in range(self.workers)]
            ray.get([a.__ray_ready__.remote() for a in self._actors])
        except Exception as exc:  # Ray raises many kinds (ConnectionError, RuntimeError, RayError)
            self.close()
            raise EngineError(self._lost(exc, "cannot start the Ray engine")) from None

    def _lost(self, exc: BaseException, what: str) -> str:
        cause = getattr(exc, "cause", None) or exc
        if isinstance(cause, FacestudioError):
            return str(cause)
        where = f"at {self.address}" if self.address else "started here"
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        return f"{what}: the Ray cluster {where} failed ({first})"

    def run(self, tasks: Iterable[Task]) -> Iterator[list[FaceRow]]:
        ray, turn = self.ray, [0]

        def submit(task):
            actor = self._actors[turn[0] % len(self._actors)]
            turn[0] += 1
            return actor.work.remote(task)

        def wait(ref):
            try:
                while not ray.wait([ref], timeout=LIVENESS_CHECK_S)[0]:
                    if not self._cluster_reachable():
                        raise ConnectionError("its control service no longer answers")
                return ray.get(ref)
            except Exception as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, FacestudioError):
                    raise cause from None
                raise EngineError(self._lost(exc, "the library build stopped") + "; the library is kept: run "
                                  "the same command again (with --engine local to finish it here)") from None

        yield from _ordered(submit, tasks, IN_FLIGHT_PER_WORKER * self.workers, wait)

    def _cluster_reachable(self) -> bool:
        """Whether the cluster's control service (GCS) still takes connections: a task whose
        cluster went away would otherwise be waited for forever."""
        import socket
        try:
            host, _, port = self.ray.get_runtime_context().gcs_address.rpartition(":")
            socket.create_connection((host, int(port)), timeout=5).close()
            return True
        except (OSError, ValueError, AttributeError):
            return False

    def close(self, abandon: bool = False) -> None:
        if self._started:  # the actors end with the driver, whether or not a task still runs
            try:
                self.ray.shutdown()  # leaves a joined cluster running; stops one started here
            except Exception:
                pass
            self._started = False


def gpus_per_actor(ray, device: str, workers: int) -> float:
    """GPU actors where GPUs exist: the cluster's GPUs shared among the actors (at most one
    each), unless ``--device cpu``. Faces rendered on a GPU differ from CPU renders in their
    last bits, so a library is best built on one kind of device (a file made again on the
    other kind is refused by its pixel hash)."""
    gpus = float(ray.cluster_resources().get("GPU", 0))
    if device.strip().lower() == "cpu" or gpus <= 0:
        return 0
    return min(1.0, gpus / workers)


def make_engine(name: str, config: WorkerConfig, workers: int, address: str | None = None):
    if name == "local":
        return LocalEngine(config, workers)
    if name == "ray":
        return RayEngine(config, workers, address)
    if name == "inline":
        return InlineEngine(config)
    raise EngineError(f"there is no engine {name!r}; use local or ray")
