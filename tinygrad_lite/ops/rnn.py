"""Temporary re-export for importers not yet moved; removed by the layout cleanup.
The recurrent ops now live in recurrent.py."""
from .recurrent import *  # noqa: F401,F403
from .recurrent import (GRUSequence, LSTMSequence, RNNSequence,  # noqa: F401
                        gru_cell_reference, gru_sequence_reference, lstm_cell_reference,
                        lstm_sequence_reference, rnn_cell_reference, rnn_sequence_reference)
