
Binput_0JÍÀ-F5