Binput_0J|E
®ìBî?