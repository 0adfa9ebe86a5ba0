
Binput_0JƒÁˆCm:§ÁìÀ=