"""CPU kernels: plain functions over numpy arrays (numpy/BLAS where it is the kernel, Numba
where a fused loop pays). Ops reach them as `k.<name>`; nothing here knows a Tensor."""
from .activations import *  # noqa: F401,F403
from .array import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .cross_entropy import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .resize import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .gemm import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .scatter import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .affine import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403

from . import memory  # noqa: E402

memory.keep_freed_memory()
