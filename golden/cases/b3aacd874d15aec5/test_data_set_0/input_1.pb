
Binput_1JÈÄ+GúCÉÃ