"""tinygrad_lite.distributed: torch.distributed's process groups and collectives, over MPI.

`import tinygrad_lite.distributed as dist` then `dist.init_process_group()` under
`mpiexec -n N python train.py`. mpi4py is imported by init_process_group only, never by
`import tinygrad_lite`. See docs/distributed.md.
"""
from .collectives import (ReduceOp, Work, all_gather, all_gather_into_tensor,  # noqa: F401
                          all_reduce, all_to_all, all_to_all_single, barrier, broadcast, gather,
                          reduce, reduce_scatter, reduce_scatter_tensor, scatter)
from .object_collectives import (all_gather_object, broadcast_object_list,  # noqa: F401
                                 gather_object, scatter_object_list)
from .process_group import (GroupMember, ProcessGroup,  # noqa: F401
                            destroy_process_group, get_backend, get_global_rank, get_group_rank,
                            get_node_local_rank, get_process_group_ranks, get_rank,
                            get_world_size, group, init_process_group, is_available,
                            is_initialized, is_mpi_available, is_nccl_available, new_group)

__all__ = ["init_process_group", "destroy_process_group", "new_group", "is_available",
           "is_initialized", "is_mpi_available", "is_nccl_available", "get_backend", "get_rank",
           "get_world_size", "get_group_rank", "get_global_rank", "get_process_group_ranks",
           "get_node_local_rank", "group", "GroupMember", "ProcessGroup", "ReduceOp", "Work",
           "all_reduce", "reduce", "broadcast", "all_gather", "all_gather_into_tensor", "gather",
           "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all",
           "all_to_all_single", "barrier", "broadcast_object_list", "all_gather_object",
           "gather_object", "scatter_object_list"]
