
Binput_1J¼˜$LE1G