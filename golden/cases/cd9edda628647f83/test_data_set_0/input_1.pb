
Binput_1JŒÇu7¸ÖG