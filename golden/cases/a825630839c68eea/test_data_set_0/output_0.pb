
Boutput_0J ¹