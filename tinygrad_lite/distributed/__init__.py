"""tinygrad_lite.distributed: torch.distributed's process group and collectives, over MPI.

`import tinygrad_lite.distributed as dist` then `dist.init_process_group()` under
`mpiexec -n N python train.py`. mpi4py is imported by init_process_group only, never by
`import tinygrad_lite`. See docs/distributed.md.
"""
from .collectives import (ReduceOp, Work, all_gather, all_gather_into_tensor,  # noqa: F401
                          all_gather_object, all_reduce, barrier, broadcast,
                          broadcast_object_list, reduce_scatter_tensor)
from .process_group import (GroupMember, ProcessGroup,  # noqa: F401
                            destroy_process_group, get_backend, get_node_local_rank, get_rank,
                            get_world_size, group, init_process_group, is_available,
                            is_initialized, is_mpi_available, is_nccl_available)

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "get_backend", "get_rank", "get_world_size",
           "get_node_local_rank", "group", "GroupMember", "ProcessGroup", "ReduceOp", "Work",
           "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter_tensor", "barrier", "broadcast_object_list", "all_gather_object"]
