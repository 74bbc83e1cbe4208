"""CUDA kernels: `@cuda.jit` kernels and their host launchers over Numba device arrays, with
the names and signatures of `nbkeras.kernels.cpu` (declared in `nbkeras.kernels.api`).
Imported only when a Tensor or Variable is placed on "cuda"."""
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
from .sorting import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .scatter import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .affine import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
