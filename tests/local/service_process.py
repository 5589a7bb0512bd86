"""A local stand-in server run as a child process: what harness.LocalAWS
and dynalite.Dynalite share.

A subclass starts its process with ``_spawn(cmd)`` (stdout and stderr go to
``log_path`` in a private temporary directory) and sets ``self.port`` when
it is ready.  ``stop()`` sends SIGTERM (SIGKILL after the timeout), closes
the log and removes the directory unless the environment variable named by
``keep_env`` is set (to keep the log for a post-mortem).  The process is
this object's own child, so ``pid`` is exactly the server's.
"""

import os
import shutil
import signal
import subprocess
import tempfile


class ServiceProcess:
    """Lifecycle, log and address of one local server process."""

    name = 'server'          # in messages
    dir_prefix = 'server-'   # of the temporary directory
    log_name = 'server.log'
    keep_env = None          # e.g. 'LOCALAWS_KEEP'

    def __init__(self):
        self.proc = None
        self.port = None
        self._dir = None
        self.log_path = None
        self._log = None

    def _open_dir(self):
        """Creates the temporary directory and opens the log in it."""
        self._dir = tempfile.mkdtemp(prefix=self.dir_prefix)
        self.log_path = os.path.join(self._dir, self.log_name)
        self._log = open(self.log_path, 'wb')
        return self._dir

    def _spawn(self, cmd, **popen_kwargs):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log,
                                     **popen_kwargs)
        return self.proc

    def _check_alive(self, what='exited'):
        """Raises RuntimeError with the log when the process has ended."""
        if self.proc.poll() is not None:
            raise RuntimeError(f'{self.name} {what} with '
                               f'{self.proc.returncode}:\n{self.log()}')

    def _terminate(self, timeout=5):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self, timeout=5):
        self._terminate(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None and not (self.keep_env and
                                          os.environ.get(self.keep_env)):
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def log(self):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except (OSError, TypeError):
            return ''
