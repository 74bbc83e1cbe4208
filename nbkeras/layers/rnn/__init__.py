"""Recurrent layers: the generic RNN over any cell, and the SimpleRNN, LSTM and GRU families."""
