"""CPU kernels: plain functions over numpy arrays (numpy/BLAS where it is the kernel, Numba
where a fused loop pays). Ops reach them as `k.<name>`; nothing here knows a Tensor."""
from numba.core import caching as _numba_caching

from .. import disk_cache as _disk_cache

_disk_cache.stamp_kernel_caches(_numba_caching)     # before any kernel below is decorated

from .activations import *  # noqa: E402,F401,F403
from .array import *  # noqa: E402,F401,F403
from .softmax import *  # noqa: E402,F401,F403
from .optimizers import *  # noqa: E402,F401,F403
from .cross_entropy import *  # noqa: E402,F401,F403
from .normalization import *  # noqa: E402,F401,F403
from .pooling import *  # noqa: E402,F401,F403
from .resize import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .gemm import *  # noqa: E402,F401,F403
from .random import *  # noqa: E402,F401,F403
from .math import *  # noqa: E402,F401,F403
from .linalg import *  # noqa: E402,F401,F403
from .sorting import *  # noqa: E402,F401,F403
from .scatter import *  # noqa: E402,F401,F403
from .sampling import *  # noqa: E402,F401,F403
from .affine import *  # noqa: E402,F401,F403
from .ctc import *  # noqa: E402,F401,F403
from .attention import *  # noqa: E402,F401,F403
from .recurrent import *  # noqa: E402,F401,F403

from . import memory  # noqa: E402

memory.keep_freed_memory()
