"""nn's package map is torch's: layers in nn/modules/<family>.py, Parameter in nn/parameter.py,
functional as a package grouped as torch's docs group it; every name the flat layout gave is
still there."""
import torch

import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite.nn import modules, parameter
from tinygrad_lite.nn.modules import (activation, container, conv, linear, loss, module, rnn,
                                      sparse)

# the public names of tinygrad_lite.nn.functional and tinygrad_lite.nn before the move
F_NAMES = """
    adaptive_avg_pool1d adaptive_avg_pool2d adaptive_max_pool1d adaptive_max_pool2d avg_pool1d
    avg_pool2d batch_norm bilinear binary_cross_entropy binary_cross_entropy_with_logits celu
    conv1d conv2d conv_transpose1d conv_transpose2d cosine_similarity cross_entropy dropout
    dropout1d dropout2d elu embedding fold gelu glu group_norm hardshrink hardsigmoid hardswish
    hardtanh hardtanh_ hinge_embedding_loss huber_loss instance_norm interpolate kl_div l1_loss
    layer_norm leaky_relu linear log_softmax logsigmoid margin_ranking_loss max_pool1d
    max_pool2d mish mse_loss multi_head_attention_forward nll_loss normalize one_hot pad
    pairwise_distance pixel_shuffle pixel_unshuffle poisson_nll_loss prelu relu relu6 relu_
    rms_norm scaled_dot_product_attention selu sigmoid silu smooth_l1_loss soft_margin_loss
    softmax softmin softplus softshrink softsign tanh tanhshrink threshold threshold_ unfold
""".split()

NN_NAMES = """
    AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool1d AdaptiveMaxPool2d AvgPool1d AvgPool2d
    BCELoss BCEWithLogitsLoss BatchNorm1d BatchNorm2d Bilinear CELU ConstantPad1d ConstantPad2d
    Conv1d Conv2d ConvTranspose1d ConvTranspose2d CosineSimilarity CrossEntropyLoss Dropout
    Dropout1d Dropout2d ELU Embedding Flatten GELU GLU GRU GRUCell GroupNorm Hardshrink
    Hardsigmoid Hardswish Hardtanh HingeEmbeddingLoss HuberLoss Identity InstanceNorm1d
    InstanceNorm2d KLDivLoss L1Loss LSTM LSTMCell LayerNorm LeakyReLU Linear LogSigmoid
    LogSoftmax MSELoss MarginRankingLoss MaxPool1d MaxPool2d Mish Module ModuleDict ModuleList
    MultiheadAttention NLLLoss PReLU PairwiseDistance Parameter ParameterDict ParameterList
    PixelShuffle PixelUnshuffle PoissonNLLLoss RMSNorm RNN RNNBase RNNCell RNNCellBase ReLU
    ReLU6 ReflectionPad1d ReflectionPad2d ReplicationPad1d ReplicationPad2d SELU Sequential SiLU
    Sigmoid SmoothL1Loss SoftMarginLoss Softmax Softmax2d Softmin Softplus Softshrink Softsign
    SyncBatchNorm Tanh Tanhshrink Threshold Transformer TransformerDecoder
    TransformerDecoderLayer TransformerEncoder TransformerEncoderLayer Unflatten Upsample
    UpsamplingBilinear2d UpsamplingNearest2d ZeroPad1d ZeroPad2d functional init parallel utils
""".split()


def test_functional_names_kept():
    missing = [n for n in F_NAMES if not hasattr(F, n)]
    assert not missing
    # a submodule of the package must not hide the function of the same name
    for name in ("linear", "dropout"):
        assert callable(getattr(F, name)) and getattr(F, name).__name__ == name


def test_nn_names_kept():
    assert not [n for n in NN_NAMES if not hasattr(nn, n)]
    for name in ("functional", "init", "parallel", "utils", "modules", "parameter"):
        assert hasattr(nn, name), name


def test_torch_module_paths():
    assert linear.Linear is nn.Linear
    assert conv.Conv2d is nn.Conv2d
    assert rnn.LSTM is nn.LSTM
    assert loss.CrossEntropyLoss is nn.CrossEntropyLoss
    assert container.Sequential is nn.Sequential
    assert sparse.Embedding is nn.Embedding
    assert activation.ReLU is nn.ReLU
    assert activation.MultiheadAttention is nn.MultiheadAttention
    assert module.Module is nn.Module
    assert parameter.Parameter is nn.Parameter
    assert module.Parameter is nn.Parameter       # the old import path still works


def test_each_layer_in_torchs_family_file():
    assert len(modules.__all__) > 100
    for name in modules.__all__:
        ours, theirs = getattr(nn, name), getattr(torch.nn, name)
        assert ours is getattr(modules, name), name
        # torch.nn.modules.conv.Conv2d <-> tinygrad_lite.nn.modules.conv.Conv2d, and
        # torch.nn.parameter.Parameter <-> tinygrad_lite.nn.parameter.Parameter
        assert ours.__module__.split(".")[2:] == theirs.__module__.split(".")[2:], name
