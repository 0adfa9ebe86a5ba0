
Binput_0Jr:«Å¼à94EÁ