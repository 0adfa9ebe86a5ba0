
Bw0_scaleJ>½Ü¼U½"=