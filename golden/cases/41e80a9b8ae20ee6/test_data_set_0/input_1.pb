
Binput_1JƒÀ