
Boutput_0J=½¼