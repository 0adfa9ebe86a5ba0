
Boutput_0J/µEÔÆÃA