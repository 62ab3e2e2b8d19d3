"""Per-epoch progress of compiled training loops.

The native loop calls :func:`epoch_done` (through Numba's object mode) once per epoch; what to show
is set by :func:`start`. In a terminal the line is redrawn as a bar; otherwise one line per epoch.
"""
import sys
import time

_state = {"epochs": 0, "verbose": False, "last": 0.0, "seconds": [], "stream": sys.stdout}


def start(epochs, verbose=True, stream=None):
    _state.update(epochs=epochs, verbose=verbose, last=time.perf_counter(), seconds=[],
                  stream=stream or sys.stdout)


def begin():
    """The native loop starts (after compilation): epoch times count from here."""
    _state["last"] = time.perf_counter()


def epoch_done(epoch, loss):
    now = time.perf_counter()
    _state["seconds"].append(now - _state["last"])
    _state["last"] = now
    if not _state["verbose"]:
        return
    stream, total = _state["stream"], _state["epochs"]
    done = int(30 * (epoch + 1) / total)
    line = (f"epoch {epoch + 1:>{len(str(total))}}/{total} [{'=' * done}{'.' * (30 - done)}] "
            f"loss {loss:.6g}  {_state['seconds'][-1]:.3f} s/epoch")
    if stream.isatty():
        stream.write("\r" + line + ("\n" if epoch + 1 == total else ""))
    else:
        stream.write(line + "\n")
    stream.flush()


def epoch_seconds():
    """Seconds each epoch of the last run took (compile time excluded)."""
    return list(_state["seconds"])
