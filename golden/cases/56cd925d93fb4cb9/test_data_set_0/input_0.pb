
Binput_0JŒ¹H<ïÃEÂ_<P¼