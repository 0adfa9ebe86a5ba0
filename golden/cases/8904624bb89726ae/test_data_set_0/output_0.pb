
Boutput_0JŽDf<f¼